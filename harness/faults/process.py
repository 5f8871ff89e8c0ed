"""Process faults of one daemon: SIGKILL a brick process or the self-heal daemon of a node
(glusterd: harness.faults.glusterd; a whole node or pod: harness.faults.crash)."""
from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Mapping, Sequence

from ..errors import ConfigError, HarnessError
from ..providers.host.proc import NodeProc
from .base import Fault
from .hosted import (HostedBrick, brick_label, find_brick, hosted_by, kill, online_in, other_node, started_volumes,
                     status_all, wait_hosted_back)

if TYPE_CHECKING:
    from ..cluster import Cluster, Node
    from ..volume import Brick, Volume

log = logging.getLogger("harness.faults")


class KillBrick(Fault):
    """SIGKILL brick processes of a volume; revert: `volume start VOL force` of every volume that had
    a brick in a killed process.

    With cluster.brick-multiplex on, one glusterfsd per node serves the bricks of many volumes, so
    the kill takes down bricks of other volumes too. Just before the start is recorded (and again
    just before the kill) the fault finds them in `volume status all` (same node, same pid): its
    targets name every affected brick, its effect is confirmed when all of them are offline, and
    its revert starts every affected volume and returns only once every one of those bricks is
    online again (plus, for a volume it was given no mount of, self-heal connected to its bricks).
    """

    kind = "kill-brick"

    def __init__(self, cluster: "Cluster", volume: "Volume", bricks: Sequence["int | str | Brick"] = (0,),
                 affected: "Sequence[HostedBrick | Mapping[str, Any]] | None" = None, **kw: Any) -> None:
        super().__init__(cluster, **kw)
        if not bricks:
            raise ConfigError(f"kill-brick on {volume.name} needs at least one brick")
        self.volume = volume
        self.bricks = [find_brick(volume, b) for b in bricks]
        self.observer = other_node(cluster, [b.node for b in self.bricks]) if len(cluster.nodes) > 1 else cluster.nodes[0]
        self.killed: list[NodeProc] = []
        # Given when the fault is rebuilt from its description (a revert in another process).
        self.affected: list[HostedBrick] = [HostedBrick.parse(a) for a in affected] if affected else []
        self._restart: list[HostedBrick] = []

    def params(self) -> dict[str, Any]:
        params: dict[str, Any] = {"volume": self.volume.name, "bricks": [b.index for b in self.bricks]}
        if self.affected:
            params["affected"] = [a.describe() for a in self.affected]
        return params

    def _own(self) -> list[HostedBrick]:
        return [HostedBrick(self.volume.name, b.name) for b in self.bricks]

    def _all_affected(self) -> list[HostedBrick]:
        return list(dict.fromkeys([*self._own(), *self.affected]))

    def targets(self) -> tuple[str, ...]:
        return tuple(brick_label(self.cluster, a) for a in self._all_affected())

    def _own_volumes(self) -> "list[Volume]":
        return [self.volume]

    def _discover(self) -> tuple[dict[tuple[str, int], "Node"], list[HostedBrick]]:
        """The processes to kill ((host, pid) -> node) and every brick they serve, own ones first."""
        statuses = status_all(self.observer)
        status = next((v for v in statuses if v.name == self.volume.name), None)
        processes: dict[tuple[str, int], Node] = {}
        for brick in self.bricks:
            st = status.brick(brick.name) if status is not None else None
            if st is None or st.pid is None or not st.online:
                raise HarnessError(f"brick {brick.name} of {self.volume.name} is not online before the fault "
                                   f"(status: {st}); wait for the volume to be whole first")
            processes[(st.hostname, st.pid)] = brick.node
        hosted = [h for host, pid in processes for h in hosted_by(statuses, host, pid)]
        return processes, list(dict.fromkeys([*self._own(), *hosted]))

    def _prepare(self) -> None:
        self.killed, self._restart = [], []
        self.affected = self._discover()[1]

    def _apply(self) -> None:
        processes, affected = self._discover()  # again: a volume started since may share a process now
        joined = [a for a in affected if a not in self.affected]
        if joined:
            self.affected += joined
            self.timeline.record(self.fault_id, self.kind, "step", self.targets(),
                                 action="bricks joined the process before the kill",
                                 joined=[brick_label(self.cluster, a) for a in joined])
            self._save_state()
        for (_, pid), node in processes.items():
            if proc := kill(node, pid):
                self.killed.append(proc)

    def _confirm_effect(self) -> dict[str, Any]:
        affected = self._all_affected()

        def offline() -> bool:
            statuses = status_all(self.observer)
            return not any(online_in(statuses, a) for a in affected)

        self.wait(offline, f"bricks {', '.join(a.brick for a in affected)} to show offline")
        return {"pids": sorted(p.pid for p in self.killed), "bricks_down": len(affected),
                "volumes": sorted({a.volume for a in affected})}

    def _undo(self) -> None:
        self.wait(lambda: all(p.reaped() for p in self.killed), "the killed brick processes to be reaped")
        started = started_volumes(self.cluster)
        # Another volume deleted or stopped since has no brick to bring back; this fault's own
        # volume is started in any case, as before multiplexing was known.
        self._restart = [a for a in self._all_affected() if a.volume == self.volume.name or a.volume in started]
        skipped = sorted({a.volume for a in self._all_affected()} - {a.volume for a in self._restart})
        if skipped:
            log.warning("%s %s: volumes %s are no longer started; their bricks are not brought back",
                        self.kind, self.fault_id, ", ".join(skipped))
        cli = self.cluster.gluster_from([])
        for name in dict.fromkeys(a.volume for a in self._restart):
            cli.xml("volume", "start", name, "force")

    def _confirm_revert(self) -> None:
        nested = any(f is not self for f in self.timeline.active_faults())
        self.confirm_whole()  # own volume and every mount's volume: bricks, peers, client children
        if nested:
            return  # the outermost fault's revert checks the volumes (see confirm_whole)
        mounted = {m.volume.name for m in self.mounts}
        wait_hosted_back(self, self._restart, self.observer,
                         sorted({a.volume for a in self._restart} - mounted))



class KillSelfHeal(Fault):
    """SIGKILL the self-heal daemon of a node; revert: `volume start VOL force` (glusterd respawns it)."""

    kind = "kill-self-heal"

    def __init__(self, cluster: "Cluster", node: str, volume: "Volume", **kw: Any) -> None:
        super().__init__(cluster, **kw)
        self.node = cluster.node(node)
        self.volume = volume
        if not volume.spec.replicated and volume.spec.type.value != "disperse":
            raise ConfigError(f"volume {volume.name} has no self-heal daemon")

    def params(self) -> dict[str, Any]:
        return {"node": self.node.name, "volume": self.volume.name}

    def targets(self) -> tuple[str, ...]:
        return (f"{self.node.name}:glustershd",)

    def _own_volumes(self) -> "list[Volume]":
        return [self.volume]

    def _shd(self) -> Any:
        # Asked from the node itself, its own daemon row has host "localhost" (or its address or name).
        for d in self.volume.status(self.node).self_heal_daemons():
            if d.host in ("localhost", self.node.address, self.node.name):
                return d
        return None

    def _apply(self) -> None:
        shd = self._shd()
        if shd is None or shd.pid is None or not shd.online:
            raise HarnessError(f"self-heal daemon of {self.node.name} is not online for {self.volume.name}: {shd}")
        self.pid = shd.pid
        self.killed = kill(self.node, shd.pid)

    def _confirm_effect(self) -> dict[str, Any]:
        if self.killed:
            self.wait(lambda: not self.killed.alive(), f"self-heal daemon {self.pid} on {self.node.name} to die")
        self.wait(lambda: not ((d := self._shd()) and d.online), f"{self.node.name}'s self-heal daemon to show offline")
        return {"pid": self.pid}

    def _undo(self) -> None:
        if killed := getattr(self, "killed", None):
            self.wait(killed.reaped, f"the killed self-heal daemon {killed.pid} to be reaped")
        self.cluster.gluster.xml("volume", "start", self.volume.name, "force")

    def _confirm_revert(self) -> None:
        self.wait(lambda: (d := self._shd()) is not None and d.online, f"{self.node.name}'s self-heal daemon online")
        self.confirm_whole()
