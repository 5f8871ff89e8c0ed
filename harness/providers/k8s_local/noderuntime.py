"""Crash and hang k8s-local nodes, with the interface of kind's DockerNodeRuntime (harness.providers.k8s.noderuntime).

Every process of node N, pods included, lives in the cgroup tree `/<run>-k8slocal/nodeN`, and the
node's holder keeps its network and mount namespaces, as a machine's hardware would:
- stop (a crash): SIGKILL every process of that tree but the holder, all at once (kubelet, containerd,
  shims, pods, glusterd, bricks); then what a reboot would have cleared is cleared (see `after_crash`);
- start: containerd and kubelet started again by the same function as the first start, so kubelet
  finds its pods' sandboxes dead and recreates them (glusterd, and with it the bricks, come back);
- pause / unpause (a hang): the cgroup v1 freezer, FROZEN / THAWED, for the node's whole tree.
"""
from __future__ import annotations

import logging
import os
import signal
import time
from pathlib import Path
from typing import Sequence

from ..host.cgroups import CGROUP_FS, cgroup_top, hierarchies
from ..host.proc import process_start_time
from ...control import Capability
from ...errors import HarnessError
from ...runner import CommandResult, run
from ...waiting import wait_for
from . import build as k8s_build
from .cluster import K8sLocalCluster, start_node_daemons
from .hosts import in_host

log = logging.getLogger("harness.k8s_local")

KILL_TIMEOUT_S = 30.0
FREEZE_TIMEOUT_S = 30.0
# What a crashed node leaves that a reboot would not, in the holder's mount namespace: mounts of dead
# containers (rootfs overlays, sandbox shm, pod secret tmpfs, pod netns pins) and containerd's state
# under /run (task bundles, shim sockets of dead shims). A reboot starts with none of them, and so
# does the restart here: these mounts are unmounted and /run/containerd removed before containerd
# starts again; containerd then finds no tasks, reports every sandbox dead, and kubelet recreates
# the pods, as after a real reboot. /var/lib (images, snapshots, kubelet's pod dirs, host-path state
# such as /var/lib/glusterharness) is disk, and survives, as it would.
# Measured: a restart without this clearing also came back (containerd 1.6 deletes the bundles of
# dead shims itself, 5 stale mounts per crash, not more after a second one; node back in ~19 s either
# way). It is kept so that a restart is a boot, not containerd's crash recovery, which is what nodes
# that lose power go through.
# Only these prefixes: the host's own /run/netns mounts propagate into the holder's namespace (beneath
# its /run) and are none of the node's business; CNI names pod namespaces cni-<uuid>.
STALE_MOUNT_PREFIXES = ("/run/containerd/", "/run/netns/cni-", "/var/lib/kubelet/pods/", "/var/lib/containerd/")
STALE_RUN_FILES = "rm -rf /run/containerd /run/netns/cni-*"


def node_state(others: int, freezer: str) -> str:
    """Docker's words for a node: `others` is how many processes of its tree are not its holder,
    `freezer` its freezer.state. paused (FROZEN), freezing (on its way), exited (nothing but the
    holder), else running."""
    if freezer == "FROZEN":
        return "paused"
    if freezer == "FREEZING":
        return "freezing"
    return "exited" if others == 0 else "running"


def stale_mounts(mountinfo: str) -> list[str]:
    """Mount points of `mountinfo` (a /proc/PID/mountinfo) a reboot would not keep, deepest first."""
    points = []
    for line in mountinfo.splitlines():
        fields = line.split()
        if len(fields) > 4:
            point = fields[4].replace("\\040", " ")
            if point.startswith(STALE_MOUNT_PREFIXES):
                points.append(point)
    return sorted(set(points), key=lambda p: (p.count("/"), p), reverse=True)


class K8sLocalNodeRuntime:
    """stop/start/pause/unpause/state of the nodes (by name) of one k8s-local cluster."""

    # The nodes' network namespaces are this host's, so the packet delayer runs in them as on the local provider.
    capabilities = frozenset({Capability.NODE_CONTAINER_FAULTS, Capability.PACKET_DELAY})

    def __init__(self, cluster: K8sLocalCluster) -> None:
        self.cluster = cluster

    def _tree(self, node: str, hierarchy: str) -> Path:
        self.cluster.plan.kubelet_host(node)  # an unknown name is refused, naming the nodes
        return CGROUP_FS / hierarchy / cgroup_top(self.cluster.run_id) / node

    def _holder(self, node: str) -> int:
        return self.cluster.holders[node]

    def _others(self, node: str) -> set[int]:
        """Pids of the node's tree (the freezer hierarchy holds them all) besides its holder."""
        pids: set[int] = set()
        for directory, _, _ in os.walk(self._tree(node, "freezer")):
            try:
                pids |= {int(p) for p in (Path(directory) / "cgroup.procs").read_text().split()}
            except FileNotFoundError:
                pass  # a pod's cgroup removed while walking
        return pids - {self._holder(node)}

    def _freezer(self, node: str) -> Path:
        return self._tree(node, "freezer") / "freezer.state"

    def state(self, node: str) -> str:
        tree = self._tree(node, "freezer")
        if not tree.is_dir():
            raise HarnessError(f"node {node} of {self.cluster.run_id} has no cgroup {tree}; is the cluster down?")
        return node_state(len(self._others(node)), self._freezer(node).read_text().strip())

    def stop(self, node: str) -> None:
        """Kill every process of the node but its holder; returns once they are all gone."""
        self._freezer(node).write_text("THAWED")  # a frozen task dies only once thawed
        deadline = time.monotonic() + KILL_TIMEOUT_S
        while pids := self._others(node):  # again: a process may fork while the others die
            if time.monotonic() > deadline:
                raise HarnessError(f"processes {sorted(pids)} of node {node} survived SIGKILL for {KILL_TIMEOUT_S} s")
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            time.sleep(0.05)
        log.info("%s: node %s crashed (every process but its holder killed)", self.cluster.run_id, node)

    def after_crash(self, node: str) -> None:
        """Clear what a reboot would have cleared (see STALE_MOUNT_PREFIXES)."""
        holder = self._holder(node)
        stale = stale_mounts(Path(f"/proc/{holder}/mountinfo").read_text())
        for point in stale:
            in_host(holder, ["umount", "-l", point], timeout=15, check=False)
        in_host(holder, ["sh", "-c", STALE_RUN_FILES], timeout=30)
        left = stale_mounts(Path(f"/proc/{holder}/mountinfo").read_text())
        if left:
            raise HarnessError(f"node {node}: mounts of its dead containers remain after umount -l: {', '.join(left)}; "
                               f"the node cannot boot clean (`python -m harness down` or `cleanup` removes the run)")
        log.info("%s: node %s: %d mounts of dead containers unmounted, /run/containerd cleared", self.cluster.run_id,
                 node, len(stale))

    def start(self, node: str) -> None:
        """Start a crashed node's containerd and kubelet as its first start did."""
        if self._others(node):
            raise HarnessError(f"node {node} still runs processes {sorted(self._others(node))}; stop it before "
                               f"starting it")
        self.after_crash(node)
        start_node_daemons(self.cluster, self.cluster.plan.kubelet_host(node), self._holder(node), k8s_build.require())

    def pause(self, node: str) -> None:
        """Freeze the node's tree; returns once FROZEN, as `docker pause` does (FREEZING until every
        task stopped: one stuck in the kernel, e.g. on a FUSE request, can hold it there)."""
        self._freezer(node).write_text("FROZEN")
        wait_for(lambda: self._freezer(node).read_text().strip() == "FROZEN", timeout=FREEZE_TIMEOUT_S, interval=0.05,
                 what=f"node {node}'s cgroup tree FROZEN",
                 describe=lambda: f"freezer.state {self._freezer(node).read_text().strip()}")

    def unpause(self, node: str) -> None:
        self._freezer(node).write_text("THAWED")

    def run_in_network(self, node: str, argv: Sequence[str], timeout: float, pod_uid: str | None = None
                       ) -> CommandResult:
        """Run argv in the node's network namespace (with pod_uid: in that pod's, for a pod without host
        network), with this machine's files, as a process of the node's cgroup tree: a crash kills it
        with the node, and teardown (also after a crashed run) finds it."""
        tree = self._tree(node, "freezer")  # an unknown name is refused, naming the nodes
        holder = self._holder(node) if pod_uid is None else self._pod_process(node, tree, pod_uid)
        joins = " ".join(f"{h / cgroup_top(self.cluster.run_id) / node}/cgroup.procs" for h in hierarchies())
        return run(["nsenter", "-t", str(holder), "-n", "sh", "-c",
                    f'for f in {joins}; do echo $$ > "$f"; done; exec "$@"', "sh", *map(str, argv)],
                   timeout=timeout, where=node)

    def network_namespace(self, node: str, pod_uid: str) -> str:
        return f"/proc/{self._pod_process(node, self._tree(node, 'freezer'), pod_uid)}/ns/net"

    @staticmethod
    def _pod_process(node: str, tree: Path, pod_uid: str) -> int:
        """The pod's oldest process, its sandbox's pause (kubelet's cgroupfs driver names the pod's cgroup
        pod<uid>): every container of a pod shares its network namespace, and the pause lives as long
        as the pod, where an exec'd program may be gone by the time its namespace is entered."""
        pids = [int(p) for directory, _, _ in os.walk(tree) if f"/pod{pod_uid}" in directory
                for p in (Path(directory) / "cgroup.procs").read_text().split()]
        started = {pid: t for pid in pids if (t := process_start_time(pid)) is not None}
        if not started:
            raise HarnessError(f"no process of pod {pod_uid} under {tree} on node {node}; is the pod running?")
        return min(started, key=started.__getitem__)
