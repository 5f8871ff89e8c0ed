"""Pod faults: SIGKILL a brick process, glusterd, or the self-heal daemon of a node; restart a
whole gluster pod (everything gluster on a node killed, then glusterd started as a restarted pod
would, which brings its bricks back)."""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Mapping, Sequence

from ..control import Capability
from ..errors import ConfigError, HarnessError
from ..gluster import GlusterError, VolumeStatus
from ..gluster.xml import parse_volume_clients, parse_volume_status
from ..glusterd_volumes import (
    BRICK_PORT_LOST_DEFECT, DROPPED_VOLUME_DEFECT, SHD_ATTACH_GIVEN_UP_DEFECT, DroppedVolumes, attach_state,
    brick_start_failures, dropped_volumes,
)
from ..health import peers_connected, self_heal_disconnected, self_heal_missing
from ..proc import NodeProc, Proc, procs
from ..timeline import Phase
from ..waiting import wait_for
from .base import Fault

if TYPE_CHECKING:
    from ..cluster import Cluster, Node
    from ..volume import Brick, Volume

log = logging.getLogger("harness.faults")


def signal_pids(node: "Node", pids: Sequence[int], signame: str) -> None:
    """Send a signal to pids of a node from inside it; pids already gone are fine."""
    if pids:
        node.run(["kill", f"-{signame}", *map(str, pids)], timeout=15, check=False)


def kill(node: "Node", pid: int) -> NodeProc | None:
    """SIGKILL one process of a node (`pid` as the node sees it: `volume status` in a pod gives the
    pod's); returns it, named so that waiting for it to be reaped never waits on a later process with
    the same pid (None: it was already gone).

    Wait for reaped, not merely dead: until a zombie is reaped glusterd reads the brick's pid file,
    finds it "running" and will not start a new brick ("discovered already-running")."""
    proc = NodeProc.of(node, pid)
    signal_pids(node, [pid], "KILL")
    return proc


def other_node(cluster: "Cluster", exclude: Sequence["Node"]) -> "Node":
    for n in cluster.nodes:
        if n not in exclude:
            return n
    raise ConfigError("every node is a target; no node is left to observe the fault from")


def peer_disconnected(observer: "Node", target: "Node") -> bool:
    try:
        peers = observer.gluster.peer_status()
    except GlusterError:
        return False
    return any(p.hostname == target.address and not p.connected for p in peers)


def find_brick(volume: "Volume", brick: "int | str | Brick") -> "Brick":
    """A brick by index, by name (host:path), by node name (its first brick there), or itself."""
    for b in volume.bricks:
        if b is brick or b.index == brick or b.name == brick or (isinstance(brick, str) and b.node.name == brick):
            return b
    known = ", ".join(f"{b.index}={b.node.name}:{b.path}" for b in volume.bricks)
    raise ConfigError(f"volume {volume.name} has no brick {brick!r}; bricks: {known}")


# --- bricks sharing a process (cluster.brick-multiplex) -----------------------------------------

@dataclass(frozen=True)
class HostedBrick:
    """A brick of some volume, named as gluster names it (host:path)."""

    volume: str
    brick: str

    @property
    def host(self) -> str:
        return self.brick.partition(":")[0]

    @property
    def path(self) -> str:
        return self.brick.partition(":")[2]

    def describe(self) -> dict[str, str]:
        return {"volume": self.volume, "brick": self.brick}

    @classmethod
    def parse(cls, data: "HostedBrick | Mapping[str, Any]") -> "HostedBrick":
        if isinstance(data, HostedBrick):
            return data
        try:
            return cls(str(data["volume"]), str(data["brick"]))
        except (KeyError, TypeError):
            raise ConfigError(f"an affected brick is {{'volume': NAME, 'brick': 'HOST:PATH'}}, got {data!r}") from None


def status_all(node: "Node") -> list[VolumeStatus]:
    """`volume status all`: the bricks of every started volume with their pids, in one call."""
    return parse_volume_status(node.gluster.xml("volume", "status", "all"))


def hosted_by(statuses: Sequence[VolumeStatus], host: str, pid: int) -> list[HostedBrick]:
    """Every brick, of any volume, that process `pid` of node `host` serves: with
    cluster.brick-multiplex on, one glusterfsd per node serves the bricks of many volumes, and
    `volume status` shows them all with that pid."""
    return [HostedBrick(v.name, b.name) for v in statuses for b in v.bricks if b.hostname == host and b.pid == pid]


def brick_label(cluster: "Cluster", hosted: HostedBrick) -> str:
    """volume:node:path, as fault targets name bricks."""
    node = next((n.name for n in cluster.nodes if n.address == hosted.host), hosted.host)
    return f"{hosted.volume}:{node}:{hosted.path}"


def online_in(statuses: Sequence[VolumeStatus], hosted: HostedBrick) -> bool:
    st = next((v for v in statuses if v.name == hosted.volume), None)
    row = st.brick(hosted.brick) if st is not None else None
    return bool(row and row.online)


def started_volumes(cluster: "Cluster") -> set[str]:
    return {v.name for v in cluster.gluster_from([]).volume_info() if v.status == "Started"}


def wait_hosted_back(fault: Fault, bricks: Sequence[HostedBrick], via: "Node", heal_connected: Sequence[str],
                     daemon_missing: "Callable[[str, str], None] | None" = None) -> None:
    """Wait until every brick in `bricks` is online and, for the volumes in `heal_connected`, every
    running self-heal daemon is connected to every brick of the volume (what a revert can confirm
    for a volume it has no mount of). Two CLI calls per poll however many volumes share a process.
    `daemon_missing(volume, host)` is told of each node with a brick but no self-heal daemon.

    A failing CLI is "not known yet": just after `start force` glusterd may not reach a new brick."""
    last: list[str] = ["no answer yet"]

    def probe() -> bool:
        statuses = status_all(via)
        missing = [b.brick + f" ({b.volume})" for b in bricks if not online_in(statuses, b)]
        if missing:
            last[0] = "offline: " + ", ".join(missing)
            return False
        if heal_connected:
            clients = parse_volume_clients(via.gluster.xml("volume", "status", "all", "clients"))
            for st in statuses:
                if st.name in heal_connected:
                    own = {b.name for b in st.bricks}
                    gaps = self_heal_disconnected(st, {k: v for k, v in clients.items() if k in own}, via.address)
                    missing += [f"{st.name}: {m}" for m in gaps]
                    for host in self_heal_missing(st, via.address) if daemon_missing else []:
                        daemon_missing(st.name, host)
        last[0] = "not connected: " + ", ".join(missing)
        return not missing

    wait_for(probe, timeout=fault.timeout, what=f"every brick {fault.kind} {fault.fault_id} took down online again",
             describe=lambda: last[0], tolerate=HarnessError)


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


class KillGlusterd(Fault):
    """SIGKILL glusterd of one or more nodes (bricks keep running); revert: start them again.

    Several nodes are one fault (e.g. SQ1's "kill glusterd on 2 nodes"): the revert restarts
    them all before confirming a whole volume, which nested one-node faults could not do.
    """

    kind = "kill-glusterd"

    def __init__(self, cluster: "Cluster", node: str | None = None, nodes: Sequence[str] = (), **kw: Any) -> None:
        super().__init__(cluster, **kw)
        names = ([node] if node else []) + list(nodes)
        if not names or len(set(names)) != len(names):
            raise ConfigError(f"kill-glusterd needs distinct node names, got {names}")
        cluster.require(Capability.PROCESS_FAULTS, what=self.kind)
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
        make it forget a volume (harness.glusterd_volumes.DROPPED_VOLUME_DEFECT); its peers' next
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
        start (harness.glusterd_volumes.BRICK_PORT_LOST_DEFECT) is restarted: its process killed,
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
        self.cluster.require(Capability.PROCESS_FAULTS, what=f"restarting glusterd of {node.name}")
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
            online = {self.observer.address if d.host == "localhost" else d.host
                      for d in status.self_heal_daemons() if d.online}
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
        # Asked from the node itself, its own daemon row has host "localhost" (or its address).
        for d in self.volume.status(self.node).self_heal_daemons():
            if d.host in ("localhost", self.node.address):
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


class NodeCrash(Fault):
    """Every process of a node SIGKILLed (a crashed node / deleted pod); revert starts the node's
    glusterd, which starts its bricks and self-heal daemon again."""

    kind = "node-crash"

    def __init__(self, cluster: "Cluster", node: str, **kw: Any) -> None:
        super().__init__(cluster, **kw)
        cluster.require(Capability.PROCESS_FAULTS, what=self.kind)
        self.node = cluster.node(node)
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
        self.killed = self._kill_all()

    def _confirm_effect(self) -> dict[str, Any]:
        self.wait(lambda: not any(p.alive() for p in self.killed), f"every process of {self.node.name} to die")
        if self.observer is not None:
            self.wait(lambda: peer_disconnected(self.observer, self.node),  # type: ignore[arg-type]
                      f"{self.observer.name} to see {self.node.name} Disconnected")
        return {"killed": len(self.killed)}

    def _undo(self) -> None:
        killed = getattr(self, "killed", [])
        self.wait(lambda: all(p.reaped() for p in killed), f"killed processes of {self.node.name} reaped",
                  describe=lambda: "not reaped: " + ", ".join(f"{p.pid}={p.state()}" for p in killed if not p.reaped()))
        if self.node.glusterd_pid() is None:
            self.restarted_at = time.time()
            self.node.start_glusterd()

    def _confirm_revert(self) -> None:
        nested = any(f is not self for f in self.timeline.active_faults())
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
