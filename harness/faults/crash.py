"""A crashed node (every gluster process SIGKILLed) and a restarted gluster pod: the revert, or the
restart itself, starts glusterd again, which brings its bricks and self-heal daemon back."""
from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any, Sequence

from ..control import Capability
from ..gluster.glusterd_volumes import SHD_ATTACH_GIVEN_UP_DEFECT, attach_state
from ..health import peer_disconnected, peers_connected
from ..providers.host.proc import Proc, procs
from ..timeline import Phase
from .base import Fault
from .hosted import HostedBrick, other_node, signal_pids, wait_hosted_back
from .wholenode import WholeNodes

if TYPE_CHECKING:
    from ..cluster import Cluster
    from ..volume import Volume

log = logging.getLogger("harness.faults")


class NodeCrash(Fault):
    """Every process of a node SIGKILLed (a crashed node / deleted pod); revert starts the node's
    glusterd, which starts its bricks and self-heal daemon again.

    Where this host sees the node's processes (process-faults) they are killed from here and the
    harness starts glusterd again; elsewhere (node-container-faults: kind, k8s-local) the node runtime
    crashes the whole node, kubelet and pods included, and the revert boots it again."""

    kind = "node-crash"
    needs_one_of = Capability.WHOLE_NODE_FAULTS

    def __init__(self, cluster: "Cluster", node: str, **kw: Any) -> None:
        super().__init__(cluster, **kw)
        self.node = cluster.node(node)
        self.whole = (WholeNodes(cluster, [self.node], self.wait, self.timeout)
                      if self.mechanism == Capability.NODE_CONTAINER_FAULTS else None)
        self.observer = other_node(cluster, [self.node]) if len(cluster.nodes) > 1 else None
        self.restarted_at: float | None = None  # when the revert (or a pod restart) started its glusterd
        self.daemon_repairs: set[str] = set()  # volumes whose self-heal daemon the revert had to restart

    def params(self) -> dict[str, Any]:
        return {"node": self.node.name}

    def targets(self) -> tuple[str, ...]:
        return (self.node.name,)

    def _kill_all(self) -> list[Proc]:
        pids = self.node.pids()
        killed = procs(pids)
        # SIGCONT first: a node hung by another fault must still die now.
        signal_pids(self.node, pids, "CONT")
        signal_pids(self.node, pids, "KILL")
        return killed

    def _apply(self) -> None:
        if self.whole:
            return self.whole.crash()
        self.killed = self._kill_all()

    def _confirm_effect(self) -> dict[str, Any]:
        if self.whole:
            return self.whole.confirm_crashed()
        self.wait(lambda: not any(p.alive() for p in self.killed), f"every process of {self.node.name} to die")
        if self.observer is not None:
            self.wait(lambda: peer_disconnected(self.observer, self.node),  # type: ignore[arg-type]
                      f"{self.observer.name} to see {self.node.name} Disconnected")
        return {"killed": len(self.killed)}

    def _undo(self) -> None:
        if self.whole:
            self.whole.restore()
            return
        killed = getattr(self, "killed", [])
        self.wait(lambda: all(p.reaped() for p in killed), f"killed processes of {self.node.name} reaped",
                  describe=lambda: "not reaped: " + ", ".join(f"{p.pid}={p.state()}" for p in killed if not p.reaped()))
        if self.node.glusterd_pid() is None:
            self.restarted_at = time.time()
            self.node.start_glusterd()

    def _confirm_revert(self) -> None:
        nested = any(f is not self for f in self.timeline.active_faults())
        if self.whole:
            # The node's own return (Ready, gluster pod Ready, glusterd answering), then the volumes
            # whole: its bricks come back only once glusterd starts in the recreated pod.
            self.whole.confirm_restored(peers=not nested)
            return self.confirm_whole()
        self.confirm_whole()  # the given volumes and every mount's: bricks, peers, client children
        if nested or self.observer is None:
            return  # the outermost fault's revert checks the volumes (see confirm_whole)
        # The crash took down every brick of the node, of every volume (with brick multiplexing one
        # process served them all): the restarted glusterd must have brought each one back.
        started = [v for v in self.observer.gluster.volume_info() if v.status == "Started"]
        hosted = [HostedBrick(v.name, b.name) for v in started for b in v.bricks if b.host == self.node.address]
        mounted = {m.volume.name for m in self.mounts}
        wait_hosted_back(self, hosted, self.observer, sorted({h.volume for h in hosted} - mounted),
                         daemon_missing=self._restart_unattached_daemon)

    def _restart_unattached_daemon(self, volume: str, host: str) -> None:
        """The restarted node runs no self-heal daemon for `volume` because its glusterd gave up the
        attach (SHD_ATTACH_GIVEN_UP_DEFECT, by its log since the restart): named on the Timeline and
        repaired once, the operator's way, `volume start VOL force`. Without that log line nothing
        is done: the wait goes on and, if it times out, says so."""
        if host != self.node.address or volume in self.daemon_repairs or self.restarted_at is None:
            return
        attach = attach_state(self.node, volume, self.restarted_at)
        if attach.in_progress or not attach.gave_up:
            return
        self.daemon_repairs.add(volume)
        log.warning("%s %s: glusterd of %s runs no self-heal daemon for %s (%s). %s; volume start force",
                    self.kind, self.fault_id, self.node.name, volume, attach.gave_up, SHD_ATTACH_GIVEN_UP_DEFECT)
        self.timeline.record(self.fault_id, self.kind, Phase.STEP, self.targets(), node=self.node.name, volume=volume,
                             evidence=[attach.gave_up], known_defect=SHD_ATTACH_GIVEN_UP_DEFECT,
                             repair="volume start force")
        self.observer.gluster.xml("volume", "start", volume, "force")  # type: ignore[union-attr]


class RestartPod(NodeCrash):
    """Everything gluster on a node killed, then started again as a restarted pod would: inject
    returns once the new glusterd answers and the node's bricks are online again."""

    kind = "restart-pod"
    needs = frozenset({Capability.PROCESS_FAULTS})  # glusterd started again by this host, on its own
    needs_one_of = ()

    def __init__(self, cluster: "Cluster", node: str, volumes: "Sequence[Volume]" = (), **kw: Any) -> None:
        super().__init__(cluster, node, **kw)
        self._volumes = list(volumes)

    def _own_volumes(self) -> "list[Volume]":
        return self._volumes

    def _apply(self) -> None:
        self.killed = self._kill_all()
        self.wait(lambda: all(p.reaped() for p in self.killed),
                  f"every process of {self.node.name} to die and be reaped")
        self.restarted_at = time.time()
        self.node.start_glusterd()

    def _confirm_effect(self) -> dict[str, Any]:
        for volume in self.volumes():
            volume.wait_bricks_online(timeout=self.timeout, via=self.node)
        self.wait(lambda: peers_connected(self.cluster, [self.node])[0], f"{self.node.name} to see every peer Connected")
        return {"killed": len(self.killed), "glusterd_pid": self.node.glusterd_pid()}
