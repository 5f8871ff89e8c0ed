"""Processes of a node and the bricks they host, as the process faults find, signal and wait for
them: pids as the node sees them, bricks by `volume status`, and the wait until every brick a
fault took down is online again."""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Mapping, Sequence

from ..errors import ConfigError, HarnessError
from ..gluster import VolumeStatus
from ..gluster.xml import parse_volume_clients, parse_volume_status
from ..health import node_addresses, self_heal_disconnected, self_heal_missing
from ..providers.host.proc import NodeProc
from ..waiting import wait_for
from .base import Fault

if TYPE_CHECKING:
    from ..cluster import Cluster, Node
    from ..volume import Brick, Volume


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
    addresses = node_addresses(fault.cluster)

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
                    gaps = self_heal_disconnected(st, {k: v for k, v in clients.items() if k in own}, via.address,
                                                  addresses)
                    missing += [f"{st.name}: {m}" for m in gaps]
                    for host in self_heal_missing(st, via.address, addresses) if daemon_missing else []:
                        daemon_missing(st.name, host)
        last[0] = "not connected: " + ", ".join(missing)
        return not missing

    wait_for(probe, timeout=fault.timeout, what=f"every brick {fault.kind} {fault.fault_id} took down online again",
             describe=lambda: last[0], tolerate=HarnessError)
