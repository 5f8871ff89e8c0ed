"""Leftovers of faults whose process died without reverting (SIGKILL, power loss of the runner):
nft tables, iptables rules, NFQUEUE delayers and stopped (SIGSTOP) processes.

Everything a fault makes carries its fault id `<run_id>-f<owner pid>-<n>` (nft tables use '_'),
and its state file `<run root>/faults/<fault id>.json` lists its artefacts and its owner's start
time. A fault is dead when its owner process is gone (or the pid was reused). Faults of live
owners are never touched, so this is safe to run while other tests inject faults.
"""
from __future__ import annotations

import json
import logging
import os
import re
import shlex
import signal
from pathlib import Path

from ..providers.host.netns import existing_namespaces, namespace_pids
from ..providers.host.proc import process_start_time, process_state
from ..runner import run

log = logging.getLogger("harness.faults.leftovers")

CMD_TIMEOUT_S = 15.0


def _owner_re(run_id: str) -> re.Pattern[str]:
    return re.compile(rf"{re.escape(run_id)}[-_]f(\d+)[-_](\d+)")


def _state_files(root: Path) -> list[Path]:
    directory = root / "faults"
    return sorted(directory.glob("*.json")) if directory.is_dir() else []


def _live_owners(root: Path) -> dict[int, bool]:
    """owner pid -> alive, using the start times recorded in state files against pid reuse."""
    owners: dict[int, bool] = {}
    for path in _state_files(root):
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        pid, start = data.get("owner_pid"), data.get("owner_start")
        if isinstance(pid, int):
            owners[pid] = owners.get(pid, False) or (process_start_time(pid) == start and start is not None)
    return owners


def _alive(pid: int, owners: dict[int, bool]) -> bool:
    if pid in owners:
        return owners[pid]
    return process_start_time(pid) is not None


def _in_ns(namespace: str, argv: list[str]) -> list[str]:
    return ["nsenter", f"--net=/run/netns/{namespace}", *argv]


def clear_fault_leftovers(run_id: str, root: Path | None) -> list[str]:
    """Remove what dead faults of cluster `run_id` left behind; returns what was removed."""
    if root is None or not (root / "faults").is_dir():
        return []  # no fault ever ran on this cluster
    owners = _live_owners(root)
    pattern = _owner_re(run_id)
    removed: list[str] = []
    namespaces = [ns for ns in existing_namespaces() if ns.startswith(f"{run_id}-") and not ns.endswith("-sw")]

    for path in _state_files(root):
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        artefacts = data.get("artefacts", {})
        if _alive(int(data.get("owner_pid", -1)), owners):
            continue
        # A hang fault lists the pids before it stops them, so a crash at any point leaves them named.
        for group in artefacts.get("stopped_pids", []):
            for pid in group:
                if process_state(pid) == "T":
                    os.kill(pid, signal.SIGCONT)
                    removed.append(f"SIGCONT {pid}")
        path.unlink(missing_ok=True)
        removed.append(f"state file {path.name}")

    for ns in namespaces:
        tables = run(_in_ns(ns, ["nft", "list", "tables"]), timeout=CMD_TIMEOUT_S, check=False).stdout
        for family, table in re.findall(r"^table\s+(\w+)\s+(\S+)", tables, re.MULTILINE):
            m = pattern.fullmatch(table)
            if m and not _alive(int(m.group(1)), owners):
                run(_in_ns(ns, ["nft", "delete", "table", family, table]), timeout=CMD_TIMEOUT_S, check=False)
                removed.append(f"nft table {table} in {ns}")
        rules = run(_in_ns(ns, ["iptables", "-w", "5", "-S"]), timeout=CMD_TIMEOUT_S, check=False).stdout
        for line in rules.splitlines():
            if not line.startswith("-A ") or "--comment" not in line:
                continue
            args = shlex.split(line)
            m = pattern.search(args[args.index("--comment") + 1])
            if m and not _alive(int(m.group(1)), owners):
                run(_in_ns(ns, ["iptables", "-w", "5", "-D", *args[1:]]), timeout=CMD_TIMEOUT_S, check=False)
                removed.append(f"iptables rule '{line}' in {ns}")
        for pid in namespace_pids(ns):
            try:
                cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")
            except OSError:
                continue
            joined = " ".join(cmdline)
            if "delayer.py" in joined:
                m = pattern.search(joined)
                if m and not _alive(int(m.group(1)), owners):
                    os.kill(pid, signal.SIGCONT)
                    os.kill(pid, signal.SIGTERM)
                    removed.append(f"delayer {pid} in {ns}")
    for line in removed:
        log.warning("%s: removed fault leftover: %s", run_id, line)
    return removed
