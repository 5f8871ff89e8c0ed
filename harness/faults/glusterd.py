"""SIGKILL glusterd on one or more nodes (server quorum, SQ1); the revert restarts each and waits
until it knows every volume and has attached its self-heal daemon, repairing the volumes a
restart dropped (a named defect)."""
from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any, Sequence

from ..control import Capability
from ..errors import ConfigError, HarnessError
from ..gluster.glusterd_volumes import (
    BRICK_PORT_LOST_DEFECT, DROPPED_VOLUME_DEFECT, DroppedVolumes, attach_state, brick_start_failures,
    dropped_volumes,
)
from ..health import node_addresses, peer_disconnected, peers_connected, self_heal_running
from ..providers.host.proc import NodeProc
from ..timeline import Phase
from .base import Fault
from .hosted import kill, other_node

if TYPE_CHECKING:
    from ..cluster import Cluster, Node

log = logging.getLogger("harness.faults")


class KillGlusterd(Fault):
    """SIGKILL glusterd of one or more nodes (bricks keep running); revert: start them again.

    Several nodes are one fault (e.g. SQ1's "kill glusterd on 2 nodes"): the revert restarts
    them all before confirming a whole volume, which nested one-node faults could not do.
    """

    kind = "kill-glusterd"
    needs = frozenset({Capability.GLUSTERD_CONTROL})

    def __init__(self, cluster: "Cluster", node: str | None = None, nodes: Sequence[str] = (), **kw: Any) -> None:
        super().__init__(cluster, **kw)
        names = ([node] if node else []) + list(nodes)
        if not names or len(set(names)) != len(names):
            raise ConfigError(f"kill-glusterd needs distinct node names, got {names}")
        self.nodes = [cluster.node(n) for n in names]
        self.observer = other_node(cluster, self.nodes)
        self.killed: dict[str, NodeProc | None] = {}

    @property
    def node(self) -> "Node":
        return self.nodes[0]

    def params(self) -> dict[str, Any]:
        return {"nodes": [n.name for n in self.nodes]}

    def targets(self) -> tuple[str, ...]:
        return tuple(n.name for n in self.nodes)

    def _apply(self) -> None:
        for n in self.nodes:
            pid = n.glusterd_pid()
            if pid is None:
                raise HarnessError(f"glusterd of {n.name} is not running before the fault")
            self.killed[n.name] = kill(n, pid)

    def _confirm_effect(self) -> dict[str, Any]:
        for n in self.nodes:
            if proc := self.killed[n.name]:
                self.wait(lambda: not proc.alive(), f"glusterd {proc.pid} of {n.name} to die")
            self.wait(lambda: peer_disconnected(self.observer, n), f"{self.observer.name} to see {n.name} Disconnected")
        return {"pids": {name: proc.pid for name, proc in self.killed.items() if proc}}

    def _undo(self) -> None:
        self.reverting_since = time.time()
        self.started: dict[str, float] = {}  # node name -> when its glusterd was (re)started (epoch s)
        self.repairs: list[dict[str, Any]] = []
        self.shd_given_up: set[tuple[str, str]] = set()
        for n in self.nodes:
            if proc := self.killed.get(n.name):
                self.wait(proc.reaped, f"the killed glusterd {proc.pid} to be reaped")
            if n.glusterd_pid() is None:
                self.started[n.name] = time.time()
                n.start_glusterd()

    def _confirm_revert(self) -> None:
        """Every glusterd knows every volume it stores, and each restarted one has attached its new
        self-heal daemon to each volume, before the volumes are confirmed whole.

        Answering the CLI and seeing its peers Connected is not enough: the restarted glusterd
        attaches its volumes to its new self-heal daemon a few seconds later, and that attach can
        make it forget a volume (harness.gluster.glusterd_volumes.DROPPED_VOLUME_DEFECT); its peers' next
        `volume status`, `stop` or `delete` then fail "Volume VOL does not exist" (issue 21). A volume
        lost so is named with the log lines that show the defect, recorded on the Timeline, and
        repaired the only way it can be: that glusterd is restarted, as an operator would.
        """
        last = [""]

        def settled() -> bool:
            if self._lost_volumes(last):
                return False
            ok, last[0] = peers_connected(self.cluster)
            if not ok:
                return False
            waiting = self._self_heal_unattached()
            if waiting:
                last[0] = "self-heal daemon not attached yet: " + ", ".join(waiting)
                return False
            # The attach is what drops a volume: look again once it has happened.
            return not self._lost_volumes(last)

        self.wait(settled, "every glusterd to know every volume it stores, its self-heal daemon attached",
                  describe=lambda: last[0], interval=0.2)
        self.wait(lambda: self._bricks_reachable(last), "no brick online without a port (clients cannot reach it)",
                  describe=lambda: last[0], interval=0.2)
        self.confirm_whole()

    def _bricks_reachable(self, last: list[str]) -> bool:
        """No brick of a started volume shows online with port N/A; one left so by a failed second
        start (harness.gluster.glusterd_volumes.BRICK_PORT_LOST_DEFECT) is restarted: its process killed,
        then `volume start VOL force`."""
        since = getattr(self, "started", {})
        try:
            infos = self.observer.gluster.volume_info()
        except HarnessError as exc:
            last[0] = f"volume info on {self.observer.name}: {str(exc).splitlines()[0]}"
            return False
        for info in infos:
            if info.status != "Started":
                continue
            try:
                status = self.observer.gluster.volume_status(info.name)
            except HarnessError as exc:
                last[0] = f"volume status {info.name}: {str(exc).splitlines()[0]}"
                return False
            portless = [b for b in status.bricks if b.online and b.port is None]
            for brick in portless:
                node = next(n for n in self.cluster.nodes if n.address == brick.hostname)
                name = f"{brick.hostname}:{brick.path}"
                evidence = brick_start_failures(node, name, since.get(node.name, self.reverting_since))
                if evidence and brick.pid:
                    self._restart_brick(info.name, node, name, brick.pid, evidence)
            if portless:
                last[0] = "online without a port: " + ", ".join(f"{b.hostname}:{b.path}" for b in portless)
                return False
        return True

    def _restart_brick(self, volume: str, node: "Node", brick: str, pid: int, evidence: Sequence[str]) -> None:
        log.warning("%s %s: brick %s of %s is online without a port (%s). %s; restarting it", self.kind,
                    self.fault_id, brick, volume, "; ".join(evidence), BRICK_PORT_LOST_DEFECT)
        repair = {"node": node.name, "volume": volume, "brick": brick, "evidence": list(evidence),
                  "known_defect": BRICK_PORT_LOST_DEFECT, "repair": "brick killed, volume start force"}
        self.repairs.append(repair)
        self.timeline.record(self.fault_id, self.kind, Phase.STEP, self.targets(), **repair)
        if proc := kill(node, pid):
            self.wait(proc.reaped, f"brick process {pid} of {brick} to be reaped")
        self.observer.gluster.xml("volume", "start", volume, "force")

    def _lost_volumes(self, last: list[str]) -> bool:
        """Whether some glusterd misses a volume of its store; one that lost it to the defect is restarted."""
        since = getattr(self, "started", {})
        lost: list[DroppedVolumes] = []
        for n in self.cluster.nodes:
            lost += dropped_volumes([n], since.get(n.name, 0.0))
        for dropped in lost:
            if dropped.is_defect:
                self._restart_for(dropped)
        if lost:
            last[0] = "; ".join(d.describe() for d in lost)
        return bool(lost)

    def _restart_for(self, dropped: DroppedVolumes) -> None:
        node = self.cluster.node(dropped.node)
        log.warning("%s %s: %s. %s; restarting glusterd of %s", self.kind, self.fault_id, dropped.describe(),
                    DROPPED_VOLUME_DEFECT, node.name)
        repair = {"node": node.name, "volumes": list(dropped.volumes), "evidence": list(dropped.evidence),
                  "known_defect": DROPPED_VOLUME_DEFECT, "repair": "glusterd restarted"}
        self.repairs.append(repair)
        self.timeline.record(self.fault_id, self.kind, Phase.STEP, self.targets(), **repair)
        if (pid := node.glusterd_pid()) and (proc := kill(node, pid)):
            self.wait(proc.reaped, f"glusterd {proc.pid} of {node.name} to be reaped")
        self.started[node.name] = time.time()
        node.start_glusterd()

    def _self_heal_unattached(self) -> list[str]:
        """"VOL on NODE" for each volume with a self-heal daemon that a restarted glusterd has not
        finished attaching: an attach it logged as begun and not yet as ended (succeeded, given up
        after 15 attempts: then the node runs no daemon for it, which is noted), or none yet while
        its daemon is not online either."""
        started = getattr(self, "started", {})
        restarted = {self.cluster.node(name).address: name for name in started}
        waiting = []
        try:
            infos = self.observer.gluster.volume_info()
        except HarnessError as exc:
            return [f"volume info on {self.observer.name}: {str(exc).splitlines()[0]}"]
        for info in infos:
            if info.status != "Started" or not ("Replicate" in info.type or "Disperse" in info.type):
                continue
            if info.options.get("cluster.self-heal-daemon", "on") in ("off", "disable", "false", "0"):
                continue
            try:
                status = self.observer.gluster.volume_status(info.name)
            except HarnessError as exc:
                waiting.append(f"{info.name} (status: {str(exc).splitlines()[0]})")
                continue
            online = self_heal_running(status, self.observer.address, node_addresses(self.cluster))
            hosts = {b.hostname for b in status.bricks}
            for addr, name in sorted(restarted.items()):
                if addr not in hosts:
                    continue
                attach = attach_state(self.cluster.node(name), info.name, started[name])
                if attach.in_progress or (attach.started == 0 and addr not in online):
                    waiting.append(f"{info.name} on {name}")
                elif attach.gave_up and (name, info.name) not in self.shd_given_up:
                    self.shd_given_up.add((name, info.name))
                    log.warning("%s %s: glusterd of %s runs no self-heal daemon for %s: %s", self.kind,
                                self.fault_id, name, info.name, attach.gave_up)
                    self.timeline.record(self.fault_id, self.kind, Phase.STEP, self.targets(), node=name,
                                         volume=info.name, self_heal_daemon="attach given up",
                                         evidence=attach.gave_up)
        return waiting
