"""Faults of Kubernetes clusters (Capability.POD_FAULTS, NODE_CONTAINER_FAULTS): delete a gluster pod
through the API, crash or hang node containers (one node or a whole zone). Faults like any other
(harness.faults.base): targets checked when built, the effect and the revert confirmed (nodes Ready,
gluster pods Ready, every peer Connected), refused before any change on a cluster that does not
allow destructive faults. Partitions and zone outages are the same faults as on every provider
(harness.faults.network, harness.faults.node).
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Iterable, Sequence

from ..cluster import Cluster, Node
from ..control import Capability
from ..errors import ConfigError, HarnessError
from ..gluster.xml import Peer
from ..health import peer_of, wait_peers_connected
from ..providers.k8s.discovery import running_pod
from ..waiting import wait_for
from .base import Fault

if TYPE_CHECKING:
    from ..providers.k8s.cluster import K8sCluster

K8S_FAULT_TIMEOUT_S = 120.0  # a pod's restart includes its image's start and the kubelet's sync


# -- peers as a node's glusterd sees them ------------------------------------------------------------
def peers_seen_from(cluster: Cluster, observer: str) -> dict[str, Peer]:
    """Peer status as glusterd on `observer` sees it, keyed by peer hostname (a node address)."""
    return {p.hostname: p for p in cluster.node(observer).gluster.peer_status()}


def wait_peers(cluster: Cluster, observer: str, nodes: Iterable[Node], connected: bool, timeout: float,
               what: str) -> None:
    nodes = list(nodes)

    def probe() -> bool:
        try:
            peers = peers_seen_from(cluster, observer)
        except HarnessError:
            return False
        found = [peer_of(peers, n) for n in nodes]
        return all(p is not None and p.connected == connected for p in found)

    def describe() -> str:
        try:
            peers = peers_seen_from(cluster, observer)
        except HarnessError as exc:
            return f"peer status on {observer} failed: {exc}"
        states = []
        for n in nodes:
            p = peer_of(peers, n)
            states.append(f"{n.name}={'not a peer' if p is None else 'connected' if p.connected else 'disconnected'}")
        return ", ".join(states)

    wait_for(probe, timeout=timeout, what=what, describe=describe, interval=0.5)


# -- pod deletion ------------------------------------------------------------------------------------
class DeleteGlusterPod(Fault):
    """Delete the gluster pod of a node (grace 0); the DaemonSet starts a new one, which is the revert."""

    kind = "pod-delete"
    needs = frozenset({Capability.POD_FAULTS})

    def __init__(self, cluster: "K8sCluster", node: str, timeout: float = K8S_FAULT_TIMEOUT_S, **kw: Any) -> None:
        super().__init__(cluster, timeout=timeout, **kw)
        self.node = cluster.node(node).name
        self.old_uid: str | None = None

    def params(self) -> dict[str, Any]:
        return {"node": self.node}

    def targets(self) -> tuple[str, ...]:
        return (self.node,)

    def _apply(self) -> None:
        pod = self.cluster.gluster_pod(self.node)
        self.old_uid = pod.uid
        self.cluster.api.core.delete_namespaced_pod(pod.name, pod.namespace, grace_period_seconds=0)

    def _current_uid(self) -> str | None:
        pod = running_pod(self.cluster.api.core, self.cluster.options.namespace, self.cluster.options.gluster_pod_selector,
                          self.node)
        return pod.uid if pod else None

    def _confirm_effect(self) -> dict[str, Any]:
        wait_for(lambda: self._current_uid() != self.old_uid, timeout=self.timeout,
                 what=f"gluster pod {self.old_uid} on {self.node} to be gone")
        return {"deleted_pod_uid": self.old_uid}

    def _undo(self) -> None:
        pass  # the DaemonSet controller recreates the pod; revert only waits for it

    def _confirm_revert(self) -> None:
        self.cluster.wait_node_ready(self.node, self.timeout)
        wait_peers_connected(self.cluster, self.timeout)


# -- node containers (kind) --------------------------------------------------------------------------
class NodeContainerFault(Fault):
    """Crash (mode 'crash': container killed) or hang (mode 'hang': container paused) nodes."""

    kind = "node-container"
    needs = frozenset({Capability.NODE_CONTAINER_FAULTS})
    MODES = ("crash", "hang")

    def __init__(self, cluster: "K8sCluster", nodes: Sequence[str], mode: str = "crash",
                 timeout: float = K8S_FAULT_TIMEOUT_S, **kw: Any) -> None:
        super().__init__(cluster, timeout=timeout, **kw)
        if mode not in self.MODES:
            raise ConfigError(f"node fault mode {mode!r} is unknown; choose one of {', '.join(self.MODES)}")
        if not nodes:
            raise ConfigError("a node fault needs at least one node")
        self.nodes = [cluster.node(n).name for n in nodes]
        self.mode = mode

    def params(self) -> dict[str, Any]:
        return {"nodes": list(self.nodes), "mode": self.mode}

    def targets(self) -> tuple[str, ...]:
        return tuple(self.nodes)

    @property
    def _runtime(self) -> Any:
        return self.cluster.node_runtime

    def _apply(self) -> None:
        for name in self.nodes:
            if self.mode == "crash":
                self._runtime.stop(name)
            else:
                self._runtime.pause(name)

    def _confirm_effect(self) -> dict[str, Any]:
        wanted = "exited" if self.mode == "crash" else "paused"
        wait_for(lambda: all(self._runtime.state(n) == wanted for n in self.nodes), timeout=self.timeout,
                 what=f"node container(s) {', '.join(self.nodes)} {wanted}",
                 describe=lambda: ", ".join(f"{n}={self._runtime.state(n)}" for n in self.nodes))
        survivors = [n for n in self.cluster.nodes if n.name not in self.nodes]
        if self.mode == "crash" and survivors:
            # A killed node resets its TCP connections: glusterd notices at once.
            lost = [self.cluster.node(n) for n in self.nodes]
            wait_peers(self.cluster, survivors[0].name, lost, False, self.timeout,
                       f"{survivors[0].name} to see {', '.join(self.nodes)} disconnected")
        return {"state": wanted}

    def _undo(self) -> None:
        restore_node_containers(self._runtime, self.nodes)

    def _confirm_revert(self) -> None:
        wait_for(lambda: all(self._runtime.state(n) == "running" for n in self.nodes), timeout=self.timeout,
                 what=f"node container(s) {', '.join(self.nodes)} running")
        for name in self.nodes:
            self.cluster.wait_node_ready(name, self.timeout)
        wait_peers_connected(self.cluster, self.timeout)


def restore_node_containers(runtime: Any, nodes: Iterable[str]) -> list[str]:
    """Start or unpause node containers left stopped or paused (by a fault's revert, or by a crashed
    run's cleanup); returns what was done."""
    undone = []
    for name in nodes:
        state = runtime.state(name)
        if state == "paused":
            runtime.unpause(name)
        elif state in ("exited", "created", "dead"):
            runtime.start(name)
        else:
            continue
        undone.append(f"node container {name} was {state}")
    return undone
