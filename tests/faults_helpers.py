"""Helpers for the fault tests: observe the machine from outside the fault code."""
from __future__ import annotations

import errno
import os
from pathlib import Path

from harness.cluster import Cluster
from harness.providers.host.proc import Proc


def netfilter_state(cluster: Cluster) -> dict[str, tuple[str, str]]:
    """Per host: its nft ruleset and iptables rules, as the kernel reports them."""
    state = {}
    for host in [*cluster.nodes, *cluster.clients]:
        nft = host.run(["nft", "list", "ruleset"], timeout=15).stdout
        ipt = host.run(["iptables", "-w", "5", "-S"], timeout=15).stdout
        state[host.name] = (nft, ipt)
    return state


def fault_state_files(cluster: Cluster) -> list[str]:
    """State files of active (or crashed) faults; delayer logs stay for post-mortems."""
    directory = Path(getattr(cluster, "root")) / "faults"
    return sorted(p.name for p in directory.glob("*.json")) if directory.is_dir() else []


def write_sync(path: Path, data: bytes = b"x" * 4096) -> None:
    """Write and fsync, so an error of the volume shows here and not at some later close."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)


def write_error(path: Path) -> int | None:
    """The errno a synced write fails with, or None when it succeeds."""
    try:
        write_sync(path)
    except OSError as exc:
        return exc.errno
    return None


def process_states(processes: list[Proc]) -> set[str]:
    """The states of those of the processes that still exist."""
    return {state for state in (p.state() for p in processes) if state}


ENOTCONN = errno.ENOTCONN


def fault_rules(cluster: Cluster) -> dict[str, list[str]]:
    """Per host, the nft tables and iptables rules a fault made (named or commented with a fault
    id, `<run>-f<pid>-<n>`); empty lists when every fault is reverted."""
    import re

    pattern = re.compile(rf"{cluster.run_id}[-_]f\d+[-_]\d+")
    found = {}
    for host, (nft, ipt) in netfilter_state(cluster).items():
        found[host] = [line.strip() for line in (nft + ipt).splitlines()
                       if pattern.search(line) and (line.lstrip().startswith("table") or line.startswith("-A"))]
    return found


def no_fault_rules(cluster: Cluster) -> bool:
    return not any(fault_rules(cluster).values())
