"""Node and zone faults: a hung node (every process SIGSTOPped, continued on revert) and a zone
outage (every node of a zone crashed or cut off). A crashed node is harness.faults.crash.NodeCrash.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..control import Capability
from ..errors import ConfigError, HarnessError
from ..providers.host.proc import Proc, procs
from .base import Fault
from .network import IsolateNode
from .crash import NodeCrash
from .hosted import signal_pids
from .wholenode import WholeNodes

if TYPE_CHECKING:
    from ..cluster import Cluster


class NodeHang(Fault):
    """Every process of a node stopped with SIGSTOP (a hung node): clients stall until
    network.ping-timeout. Revert sends SIGCONT to every stopped process of the node.

    Where this host cannot signal the node's processes (node-container-faults: kind, k8s-local) the
    node runtime freezes the whole node instead, kubelet and pods included, and thaws it on revert."""

    kind = "node-hang"
    needs_one_of = Capability.WHOLE_NODE_FAULTS

    def __init__(self, cluster: "Cluster", node: str, **kw: Any) -> None:
        super().__init__(cluster, **kw)
        self.node = cluster.node(node)
        self.stopped: list[Proc] = []
        self.whole = (WholeNodes(cluster, [self.node], self.wait, self.timeout)
                      if self.mechanism == Capability.NODE_CONTAINER_FAULTS else None)

    def params(self) -> dict[str, Any]:
        return {"node": self.node.name}

    def targets(self) -> tuple[str, ...]:
        return (self.node.name,)

    def _apply(self) -> None:
        if self.whole:
            return self.whole.freeze()
        pids = self.node.pids()
        self.stopped = procs(pids)
        if not self.stopped:
            raise HarnessError(f"node {self.node.name} has no process to stop")
        self.note_artefact("stopped_pids", pids)  # before stopping: a crash now leaves them listed
        signal_pids(self.node, pids, "STOP")

    def _confirm_effect(self) -> dict[str, Any]:
        if self.whole:
            return self.whole.confirm_frozen()

        def all_stopped() -> bool:
            return all(p.state() in ("T", None) for p in self.stopped)

        self.wait(all_stopped, f"every process of {self.node.name} in state T",
                  describe=lambda: ", ".join(f"{p.pid}={p.state()}" for p in self.stopped))
        return {"stopped": len(self.stopped)}

    def _undo(self) -> None:
        if self.whole:
            self.whole.restore()
            return
        stopped_now = {p.pid for p in procs(self.node.pids()) if p.state() == "T"}
        signal_pids(self.node, sorted({p.pid for p in self.stopped if not p.reaped()} | stopped_now), "CONT")

    def _confirm_revert(self) -> None:
        if self.whole:
            nested = any(f is not self for f in self.timeline.active_faults())
            self.whole.confirm_restored(peers=not nested)
        else:
            self.wait(lambda: not any(p.state() == "T" for p in self.stopped), f"no process of {self.node.name} stopped")
        self.confirm_whole()


class ZoneOutage(Fault):
    """Every node of a zone crashed (mode="crash"), hung (mode="hang") or cut off from every other
    host (mode="isolate"). Revert restarts (thaws, reconnects) them all and confirms a whole volume."""

    kind = "zone-outage"
    MODES = ("crash", "hang", "isolate")

    def __init__(self, cluster: "Cluster", zone: str, mode: str = "crash", **kw: Any) -> None:
        super().__init__(cluster, **kw)
        if mode not in self.MODES:
            raise ConfigError(f"zone outage mode must be one of {', '.join(self.MODES)}, got {mode!r}")
        self.zone, self.mode = zone, mode
        self.nodes = cluster.nodes_in_zone(zone)
        if len(self.nodes) == len(cluster.nodes):
            raise ConfigError(f"zone {zone} holds every node; an outage would leave nothing to observe it from")
        sub_kw = {"timeline": self.timeline, "timeout": self.timeout, "mounts": self._mounts}
        whole_node = {"crash": NodeCrash, "hang": NodeHang}.get(mode)
        self.parts: list[Fault] = ([whole_node(cluster, n.name, **sub_kw) for n in self.nodes] if whole_node
                                   else [IsolateNode(cluster, zone=zone, **sub_kw)])

    def params(self) -> dict[str, Any]:
        return {"zone": self.zone, "mode": self.mode}

    def targets(self) -> tuple[str, ...]:
        return (self.zone, *(n.name for n in self.nodes))

    def _apply(self) -> None:
        for part in self.parts:
            part.inject()
        return None

    def _confirm_effect(self) -> dict[str, Any]:
        return {"parts": [p.fault_id for p in self.parts]}

    def _undo(self) -> None:
        errors = []
        for part in reversed(self.parts):
            try:
                part.revert()
            except HarnessError as exc:
                errors.append(str(exc))
        if errors:
            raise HarnessError(f"zone outage {self.zone}: reverting failed: {'; '.join(errors)}")
