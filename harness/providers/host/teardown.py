"""Removing a local cluster, live or left by a crashed run: mounts, loops, namespaces, files."""
from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

from . import registry
from .cgroups import cgroup_dirs, release_cgroups
from .netns import delete_namespace, existing_namespaces
from ...runner import run

log = logging.getLogger("harness.teardown")


def mounts_under(root: Path) -> list[str]:
    prefix = str(root).rstrip("/") + "/"
    with open("/proc/mounts") as fh:
        points = [line.split()[1] for line in fh]
    return sorted((p for p in points if p.startswith(prefix)), key=len, reverse=True)


def loops_under(root: Path) -> list[str]:
    result = run(["losetup", "--json", "--list"], timeout=15, check=False)
    if not result.ok or not result.stdout.strip():
        return []
    prefix = str(root).rstrip("/") + "/"
    devices = json.loads(result.stdout).get("loopdevices", [])
    return [d["name"] for d in devices if (d.get("back-file") or "").startswith(prefix)]


def leftovers(run_id: str, root: Path | None) -> list[str]:
    """What of a cluster is still on the machine: namespaces, mounts, loop devices, files."""
    found = [f"namespace {ns}" for ns in existing_namespaces() if ns.startswith(f"{run_id}-")]
    found += [f"cgroup {d}" for d in cgroup_dirs(run_id)]
    if root is not None and root.exists():
        found += [f"mount {m}" for m in mounts_under(root)]
        found += [f"loop device {d}" for d in loops_under(root)]
        found.append(f"directory {root}")
    return found


def teardown(run_id: str, root: Path | None) -> None:
    """Undo everything a cluster made, in reverse order of creation. Idempotent."""
    release_cgroups(run_id)  # a k8s-local cluster's processes (pods too) and cgroups; none for a local one
    if root is not None and root.exists():
        for device in loops_under(root):
            run(["losetup", "--detach", device], timeout=15, check=False)
        for point in mounts_under(root):
            if not run(["umount", point], timeout=30, check=False).ok:
                run(["umount", "-l", point], timeout=30, check=False)
    ours = [ns for ns in existing_namespaces() if ns.startswith(f"{run_id}-")]
    # Nodes and clients first, the switch last: nothing is left plugged into a dead bridge.
    for ns in sorted(ours, key=lambda n: n.endswith("-sw")):
        delete_namespace(ns)
    if root is not None and root.exists():
        shutil.rmtree(root)


def sweep_stale() -> list[str]:
    """Remove clusters of crashed runs (owner gone, not kept on purpose) and orphan namespaces.

    Call under registry.locked(). Returns the run ids removed.
    """
    removed = []
    known = {}
    for entry in registry.entries():
        known[entry.index] = entry
        if entry.stale:
            log.warning("removing %s left by crashed run (pid %d)", entry.run_id, entry.owner_pid)
            teardown(entry.run_id, Path(entry.root))
            registry.release(entry.index)
            removed.append(entry.run_id)
        else:
            # A live or kept cluster may carry faults of a killed process (rules, delayers, stopped
            # processes); only faults whose owner is dead are removed (each one is logged).
            from ...faults.leftovers import clear_fault_leftovers

            clear_fault_leftovers(entry.run_id, Path(entry.root))
    for ns in existing_namespaces():
        index = registry.index_of_namespace(ns)
        if index is not None and index not in known:
            run_id = f"{registry.NAMESPACE_PREFIX}{index}"
            log.warning("removing orphan namespaces of %s", run_id)
            teardown(run_id, None)
            known[index] = None
            removed.append(run_id)
    return removed
