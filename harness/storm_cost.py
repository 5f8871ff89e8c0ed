"""What a storm costs the storage nodes as it grows: RSS of glusterd, bricks and daemons, and process
counts, read from this host's /proc (the local provider's nodes; elsewhere, not visible: None)."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Iterable, Sequence

from . import capacity
from .errors import Unsupported

if TYPE_CHECKING:
    from .cluster import Node

MB = 1024.0


@dataclass(frozen=True)
class Sample:
    """Cost of the cluster with `n` storm volumes started."""

    n: int
    elapsed_s: float
    glusterd_rss_mb: float | None
    brick_rss_mb: float | None
    other_rss_mb: float | None  # self-heal daemons and other glusterfs processes of the nodes
    processes: int | None  # glusterd + glusterfsd + glusterfs on the storage nodes
    glusterd_processes: int | None
    brick_processes: int | None
    mem_available_mb: float


def _rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / MB
    except (FileNotFoundError, ProcessLookupError):
        return None
    return None


def _comm(pid: int) -> str | None:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except (FileNotFoundError, ProcessLookupError):
        return None


def gluster_processes(nodes: Iterable["Node"]) -> dict[str, list[int]] | None:
    """pids of glusterd, glusterfsd (bricks) and glusterfs (daemons) on the nodes; None if unknowable.

    Needs nodes whose processes this host can see (`pids()`, Capability.PROCESS_FAULTS).
    """
    found: dict[str, list[int]] = {"glusterd": [], "glusterfsd": [], "glusterfs": []}
    for node in nodes:
        try:
            pids = node.pids()
        except Unsupported:
            return None
        for pid in pids:
            comm = _comm(pid)
            if comm in found:
                found[comm].append(pid)
    return found


def sample_cost(nodes: Sequence["Node"], n: int, elapsed_s: float) -> Sample:
    procs = gluster_processes(nodes)
    available = capacity.meminfo()["MemAvailable"]
    if procs is None:
        return Sample(n, round(elapsed_s, 2), None, None, None, None, None, None, round(available, 1))

    def total(kind: str) -> float:
        return round(sum(_rss_mb(p) or 0.0 for p in procs[kind]), 1)

    return Sample(
        n=n, elapsed_s=round(elapsed_s, 2),
        glusterd_rss_mb=total("glusterd"), brick_rss_mb=total("glusterfsd"), other_rss_mb=total("glusterfs"),
        processes=sum(len(v) for v in procs.values()),
        glusterd_processes=len(procs["glusterd"]), brick_processes=len(procs["glusterfsd"]),
        mem_available_mb=round(available, 1),
    )
