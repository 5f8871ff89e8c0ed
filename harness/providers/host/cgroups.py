"""The cgroup tree of a k8s-local run, `/<run>-k8slocal/<host>` in every cgroup hierarchy: every
process of the cluster (pods too) lives in it, so teardown kills and removes exactly that, also after a
crash. A local provider's run has none."""
from __future__ import annotations

import os
import time
from pathlib import Path

from . import netns
from ...errors import HarnessError

CGROUP_FS = Path("/sys/fs/cgroup")
CGROUP_SUFFIX = "k8slocal"

def cgroup_top(run_id: str) -> str:
    return f"{run_id}-{CGROUP_SUFFIX}"


def hierarchies() -> list[Path]:
    """The cgroup v1 hierarchies (kubelet's cgroupfs driver uses the same path in each)."""
    return sorted(p for p in CGROUP_FS.iterdir() if p.name != "unified" and (p / "cgroup.procs").exists())


def make_cgroup(relative: str) -> None:
    for hierarchy in hierarchies():
        parent = hierarchy
        for part in relative.strip("/").split("/"):
            child = parent / part
            child.mkdir(exist_ok=True)
            # A new cpuset has no cpus or memory nodes, and no task can join it until it does.
            for knob in ("cpuset.cpus", "cpuset.mems"):
                if (child / knob).exists() and not (child / knob).read_text().strip():
                    (child / knob).write_text((parent / knob).read_text())
            parent = child


def join_cgroup(pid: int, relative: str) -> None:
    for hierarchy in hierarchies():
        (hierarchy / relative.strip("/") / "cgroup.procs").write_text(f"{pid}\n")


def cgroup_dirs(run_id: str) -> list[Path]:
    """Every cgroup directory of the cluster, deepest first (every hierarchy, cgroup2 included)."""
    found = []
    for hierarchy in CGROUP_FS.iterdir():
        top = hierarchy / cgroup_top(run_id)
        if top.is_dir():
            found += [Path(d) for d, _, _ in os.walk(top)]
    return sorted(found, key=lambda p: len(p.parts), reverse=True)


def cgroup_pids(run_id: str) -> set[int]:
    pids = set()
    for d in cgroup_dirs(run_id):
        try:
            pids |= {int(p) for p in (d / "cgroup.procs").read_text().split()}
        except FileNotFoundError:
            pass
    return pids


def release_cgroups(run_id: str, timeout: float = 30.0) -> None:
    """Kill every process of the cluster's cgroups and remove them. Idempotent; nothing to do for a
    local provider's run. Frozen ones are thawed first (a SIGKILL waits for the thaw)."""
    for d in cgroup_dirs(run_id):
        if (d / "freezer.state").exists():
            (d / "freezer.state").write_text("THAWED")
    deadline = time.monotonic() + timeout
    while pids := cgroup_pids(run_id):
        if time.monotonic() > deadline:
            raise HarnessError(f"processes {sorted(pids)} of {run_id} survived SIGKILL for {timeout} s")
        netns.kill_pids(sorted(pids), timeout=timeout)
    for d in cgroup_dirs(run_id):
        d.rmdir()
