"""Whole nodes crashed or frozen through the cluster's node runtime (Capability.NODE_CONTAINER_FAULTS):
how NodeCrash, NodeHang and ZoneOutage act where this host cannot signal the node's processes (kind,
k8s-local). A crash takes kubelet, the container runtime and every pod of the node; its revert boots
the node, whose kubelet recreates the gluster pod, whose glusterd brings the bricks back."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Sequence

from ..control import NodeRuntime
from ..errors import ConfigError
from ..health import wait_peers_connected
from .pod import wait_peers

if TYPE_CHECKING:
    from ..cluster import Cluster, Node

Wait = Callable[..., Any]  # Fault.wait: (probe, what, describe=...) bounded by the fault's timeout


def runtime_of(cluster: "Cluster") -> NodeRuntime:
    if cluster.node_runtime is None:
        raise ConfigError(f"{type(cluster).__name__} {cluster.run_id} claims node-container-faults but has no "
                          f"node runtime; its provider must pass node_runtime=")
    return cluster.node_runtime


class WholeNodes:
    """Stop/start or pause/unpause `nodes` and confirm each step from outside the nodes."""

    def __init__(self, cluster: "Cluster", nodes: Sequence["Node"], wait: Wait, timeout: float) -> None:
        self.cluster, self.nodes, self.wait, self.timeout = cluster, list(nodes), wait, timeout
        self.runtime = runtime_of(cluster)
        self.names = [n.name for n in self.nodes]

    def states(self) -> str:
        return ", ".join(f"{n}={self.runtime.state(n)}" for n in self.names)

    def wait_state(self, wanted: str) -> None:
        self.wait(lambda: all(self.runtime.state(n) == wanted for n in self.names),
                  f"node(s) {', '.join(self.names)} {wanted}", describe=self.states)

    def crash(self) -> None:
        for name in self.names:
            self.runtime.stop(name)

    def confirm_crashed(self) -> dict[str, Any]:
        self.wait_state("exited")
        survivors = [n for n in self.cluster.nodes if n not in self.nodes]
        if survivors:  # a killed node resets its TCP connections: glusterd notices at once
            wait_peers(self.cluster, survivors[0].name, self.nodes, False, self.timeout,
                       f"{survivors[0].name} to see {', '.join(self.names)} Disconnected")
        return {"state": "exited", "by": "node runtime"}

    def freeze(self) -> None:
        for name in self.names:
            self.runtime.pause(name)

    def confirm_frozen(self) -> dict[str, Any]:
        self.wait_state("paused")
        return {"state": "paused", "by": "node runtime"}

    def restore(self) -> list[str]:
        """Boot crashed nodes and thaw frozen ones (also half-way ones); returns what was done."""
        done = []
        for name in self.names:
            state = self.runtime.state(name)
            if state in ("paused", "freezing"):
                self.runtime.unpause(name)
            elif state in ("exited", "created", "dead"):
                self.runtime.start(name)
            else:
                continue
            done.append(f"{name} was {state}")
        return done

    def confirm_restored(self, peers: bool) -> None:
        """Running again, node Ready with its gluster pod Ready and glusterd answering; with `peers`,
        every peer Connected too (left out while an outer fault still holds other nodes down)."""
        self.wait_state("running")
        for name in self.names:
            self.cluster.wait_node_ready(name, self.timeout)
        if peers:
            wait_peers_connected(self.cluster, self.timeout)
