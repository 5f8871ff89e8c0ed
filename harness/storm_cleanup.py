"""What a storm leaves and how it goes: its volumes deleted side by side, what a failed provision left
registered swept, and the leftovers (volumes, brick directories, brick processes) found after it."""
from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

from .errors import HarnessError
from .storm_cost import gluster_processes

if TYPE_CHECKING:
    from .cluster import Cluster
    from .volume import Volume


def delete_volumes(volumes: Sequence["Volume"], concurrency: int) -> tuple[list[str], list[float]]:
    """Stop and delete volumes concurrently; one error line per volume that failed, and the
    seconds each successful delete took."""

    def delete(volume: "Volume") -> tuple[str | None, float]:
        start = time.monotonic()
        try:
            volume.delete()
        except Exception as exc:
            return f"delete {volume.name}: {short_error(exc)}", 0.0
        return None, time.monotonic() - start

    with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="storm-del") as pool:
        futures = [pool.submit(delete, v) for v in volumes]
        try:
            outcomes = [f.result() for f in futures]
            return [e for e, _ in outcomes if e], [s for e, s in outcomes if e is None]
        except BaseException:
            for queued in futures:  # interrupted: stop deleting; the cluster's teardown removes the rest
                queued.cancel()
            raise


def sweep_storm_volumes(cluster: "Cluster", prefix: str) -> list[str]:
    """Delete volumes named like the storm's that a failed provision left registered in glusterd."""
    errors = []
    cli = cluster.gluster
    for name in [v for v in cli.volume_names() if v.startswith(prefix + "-")]:
        try:
            if cli.volume_info(name)[0].status == "Started":
                cli.xml("volume", "stop", name, "force")
            cli.xml("volume", "delete", name)
        except HarnessError as exc:
            errors.append(f"sweep {name}: {short_error(exc)}")
    for node in cluster.nodes:
        node.run(["find", node.brick_root, "-mindepth", "1", "-maxdepth", "1", "-name", f"{prefix}-*",
                  "-exec", "rm", "-rf", "--one-file-system", "{}", "+"], timeout=600, check=False)
    return errors


def storm_leftovers(cluster: "Cluster", prefix: str) -> list[str]:
    """What a storm left: volumes named like it, brick directories, brick processes serving them."""
    found = [f"volume {v}" for v in cluster.gluster.volume_names() if v.startswith(prefix + "-")]
    for node in cluster.nodes:
        listing = node.run(["find", node.brick_root, "-mindepth", "1", "-maxdepth", "1", "-name", f"{prefix}-*"],
                           timeout=60, check=False).stdout.split()
        found += [f"brick directory {node.name}:{p}" for p in listing]
    procs = gluster_processes(cluster.nodes) or {}
    for pid in procs.get("glusterfsd", []):
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
        except (FileNotFoundError, ProcessLookupError):
            continue
        if f"/{prefix}-" in cmdline:
            found.append(f"brick process {pid} serving {prefix} volumes")
    return found


def short_error(exc: BaseException, limit: int = 400) -> str:
    text = f"{type(exc).__name__}: {exc}".replace("\n", " | ")
    return text if len(text) <= limit else text[:limit] + "..."
