"""Waiting for a volume to be whole again: bricks online, peers connected, client children up,
pending heal 0. Unknown ("-" from a brick gluster cannot reach) is never taken for 0.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Mapping, Sequence

from .cluster import HOSTNAME_LABEL
from .errors import CommandError, HarnessError, KnownDefectTimeout, WaitTimeout
from .gluster.gfidless import describe_blocked_heal, names_without_gfid
from .gluster import HealSummary, Peer, VolumeStatus
from .waiting import wait_for

if TYPE_CHECKING:
    from .cluster import Cluster, Node
    from .runner import CommandResult
    from .mount import FuseMount
    from .volume import Volume

HEAL_POLL_S = 0.25
ENTRIES_SHOWN = 5  # per brick, in a heal timeout's message
DAEMON_NOT_RUNNING_YET = "Self-heal daemon is not running"
# glusterd's answer while a self-heal daemon is still reconnecting to a brick that `volume status
# clients` shows it connected to by the old connection (after a partition's revert, seen in the
# network-partition experiment): launching is refused, and nothing but the heal command tells.
DAEMON_RECONNECTING = "Glusterd Syncop Mgmt brick op 'Heal' failed"


@dataclass(frozen=True)
class HealWait:
    """How long pending heal took to reach 0, with the samples seen on the way.

    samples: (elapsed seconds, total pending entries or None when a brick answered "-").
    """

    seconds: float
    samples: tuple[tuple[float, int | None], ...]


@dataclass(frozen=True)
class WholeReport:
    """wait_volume_whole's result: total seconds, and the seconds of each stage."""

    volume: str
    seconds: float
    bricks_s: float
    peers_s: float
    children_s: float
    heal: HealWait


def pending_words(summary: HealSummary | None) -> str:
    """What the last `heal info summary` said of pending entries, e.g. "12 entries pending (v-b0=12,
    v-b1=0)"; a brick that answered "-" makes the total unknown, never 0."""
    if summary is None:
        return "pending entries unknown (no answer from `heal info summary`)"
    total = summary.total_pending
    counted = "pending entries unknown" if total is None else f"{total} entries pending"
    return f"{counted} ({_pending_by_brick(summary)})"


def _pending_by_brick(summary: HealSummary | None) -> str:
    if summary is None:
        return "no answer from `heal info summary`"
    return ", ".join(f"{b.brick}={'-' if b.pending is None else b.pending}"
                     f"{'' if b.status in ('', 'Connected') else f' ({b.status})'}" for b in summary.bricks) or "no bricks"


def _pending_entries(volume: "Volume", via: "Node | None") -> tuple[str, str | None]:
    """Which entries are left (`heal info`) and what to check next, as a timeout's reader needs them
    to look at the bricks; and the known GlusterFS defect that blocks them, if that is the cause."""
    try:
        bricks = volume.heal_pending(via)
    except HarnessError as exc:
        return f"pending entries unknown (`heal info` failed: {str(exc).splitlines()[0]}). {_hints(volume)}", None
    listed = []
    for brick in bricks:
        if brick.entries:
            more = len(brick.entries) - ENTRIES_SHOWN
            names = ", ".join(brick.entries[:ENTRIES_SHOWN]) + (f" and {more} more" if more > 0 else "")
            listed.append(f"{brick.brick}: {names}")
    text = f"pending entries: {'; '.join(listed) or 'none listed'}. "
    blocked = names_without_gfid(volume, bricks)
    if blocked:
        defect = describe_blocked_heal(blocked)
        return text + defect, defect
    return text + _hints(volume), None


def _hints(volume: "Volume") -> str:
    return (f"Check: is the self-heal daemon running (`gluster volume status {volume.name}` shows Self-heal Daemon "
            f"online; cluster.self-heal-daemon not off)? Is every brick online ('-' means unreachable)? Split-brain "
            f"entries never heal on their own (`gluster volume heal {volume.name} info split-brain`).")


def wait_heal(volume: "Volume", timeout: float, via: "Node | None" = None) -> HealWait:
    """Poll `heal info summary` until every brick answers and pending entries total 0.

    `via` is the node whose CLI is asked (default: the volume's cluster's first node); choose one
    outside a fault. Raises WaitTimeout naming the volume and the last per-brick counts.
    """
    start = time.monotonic()
    samples: list[tuple[float, int | None]] = []
    last: list[HealSummary | None] = [None]

    def probe() -> bool:
        total = None  # a failing CLI (glusterd busy or restarting) is an unknown point of the curve
        try:
            last[0] = volume.heal_summary(via)
            total = last[0].total_pending
        finally:
            samples.append((time.monotonic() - start, total))
        return total == 0

    def describe() -> str:
        return f"pending per brick: {_pending_by_brick(last[0])}"

    try:
        wait_for(probe, timeout=timeout, interval=HEAL_POLL_S, what=f"pending heal of volume {volume.name} to reach 0",
                 describe=describe, tolerate=HarnessError)
    except WaitTimeout as exc:
        entries, defect = _pending_entries(volume, via)
        message = f"{exc}; {entries}"
        raise (KnownDefectTimeout(message, defect, last[0]) if defect else WaitTimeout(message, last[0])) from None
    return HealWait(time.monotonic() - start, tuple(samples))


def peer_of(peers: dict[str, Peer], node: "Node") -> Peer | None:
    """The peer entry (peers keyed by hostname) of `node`: pools probed by address (kind, local) or by
    node name (k8s-local, heketi-made pools)."""
    for name in (node.address, node.name, node.labels.get(HOSTNAME_LABEL)):
        if name and name in peers:
            return peers[name]
    return None


def peer_disconnected(observer: "Node", target: "Node") -> bool:
    """Whether glusterd on `observer` lists `target` as a peer and sees it Disconnected."""
    try:
        peers = observer.gluster.peer_status()
    except HarnessError:
        return False
    found = peer_of({p.hostname: p for p in peers}, target)
    return found is not None and not found.connected


def peers_connected(cluster: "Cluster", nodes: "Sequence[Node] | None" = None) -> tuple[bool, str]:
    """Whether every node (of `nodes`) sees every other node Connected; with a description."""
    expected = len(cluster.nodes) - 1
    problems = []
    for node in nodes or cluster.nodes:
        try:
            peers = node.gluster.peer_status()
        except HarnessError as exc:
            problems.append(f"{node.name}: CLI failed ({str(exc).splitlines()[0]})")
            continue
        bad = [p.hostname for p in peers if not (p.connected and p.state == "Peer in Cluster")]
        if len(peers) != expected or bad:
            problems.append(f"{node.name}: {len(peers)}/{expected} peers, not connected: {', '.join(bad) or '-'}")
    return (not problems, "; ".join(problems) or "all peers connected")


def wait_peers_connected(cluster: "Cluster", timeout: float) -> None:
    last = [""]

    def probe() -> bool:
        ok, last[0] = peers_connected(cluster)
        return ok

    wait_for(probe, timeout=timeout, what="every gluster peer Connected", describe=lambda: last[0])


def node_addresses(cluster: "Cluster") -> dict[str, str]:
    """Each node's address by the names a pool may list it under (probed by name: k8s-local, kind)."""
    return {name: n.address for n in cluster.nodes for name in (n.name, n.labels.get(HOSTNAME_LABEL)) if name}


def self_heal_disconnected(status: VolumeStatus, clients: dict[str, frozenset[str]], answering: str,
                           addresses: Mapping[str, str]) -> list[str]:
    """Links "self-heal daemon on HOST -> brick" not yet made, and daemons not yet running: while
    any daemon runs (none does with cluster.self-heal-daemon off), every node with an online brick
    runs one (after a node restart glusterd answers before it has started it, and `volume heal`
    fails with "Self-heal daemon is not running"), and every online daemon connects to every brick
    of the volume (the daemon retries every 3 s after a start or a cut; `volume heal` fails while
    one cannot reach a brick). `answering` is the address of the node that gave `status` (its own
    daemon shows as "localhost"). A FUSE mount or glfsheal run on a node connects from the same
    address, so it could stand in for that node's daemon; the harness mounts from client hosts only.
    `addresses` (node_addresses) turns the peer names a pool probed by name lists into addresses."""
    running = self_heal_running(status, answering, addresses)
    return [f"self-heal daemon on {h} not running" for h in self_heal_missing(status, answering, addresses)] + [
        f"self-heal daemon on {h} -> {brick}" for brick, addrs in sorted(clients.items())
        for h in sorted(running) if h not in addrs]


def self_heal_running(status: VolumeStatus, answering: str, addresses: Mapping[str, str]) -> set[str]:
    """Addresses of the nodes whose self-heal daemon `status` shows online."""
    return {answering if d.host == "localhost" else addresses.get(d.host, d.host)
            for d in status.self_heal_daemons() if d.online}


def self_heal_missing(status: VolumeStatus, answering: str, addresses: Mapping[str, str]) -> list[str]:
    """Nodes with an online brick but no self-heal daemon, while any daemon runs (see above)."""
    running = self_heal_running(status, answering, addresses)
    return sorted({b.hostname for b in status.bricks if b.online} - running) if running else []


def wait_self_heal_connected(volume: "Volume", timeout: float, via: "Node | None" = None) -> None:
    """Wait until every running self-heal daemon is connected to every brick of `volume`.

    `volume status clients` asks every brick process; just after a brick starts (replace-brick,
    start force) its glusterd may not reach it yet and the command fails with "Commit failed on
    <node>": that is "not known yet", so the wait goes on and reports the last error if it times out.
    """
    node = via or volume.cluster.nodes[0]
    last: list[list[str] | None] = [None]

    def probe() -> bool:
        last[0] = self_heal_disconnected(node.gluster.volume_status(volume.name),
                                         node.gluster.volume_clients(volume.name), node.address,
                                         node_addresses(volume.cluster))
        return not last[0]

    def describe() -> str:
        return "no answer yet" if last[0] is None else "not connected: " + ", ".join(last[0])

    wait_for(probe, timeout=timeout, what=f"every self-heal daemon connected to every brick of {volume.name}",
             describe=describe, tolerate=HarnessError)


def run_heal_command(volume: "Volume", *args: str, timeout: float = 30.0, via: "Node | None" = None) -> str:
    """`gluster volume heal VOL [args]` once every self-heal daemon is connected to every brick
    (launching fails while one is still reconnecting); returns its output. gluster implements no
    --xml output for these sub-commands.

    Without args it starts an index heal now. The daemons crawl on their own only when they see a
    brick come back, or every cluster.heal-timeout (600 s): an idle daemon sends no ping, so it
    never notices a node that hung or a link that was cut for a while, though the clients did and
    left entries pending. After such a fault an operator asks for a heal; so does the harness.
    """
    node = via or volume.cluster.nodes[0]
    start = time.monotonic()
    wait_self_heal_connected(volume, timeout=timeout, via=node)
    last: list[CommandResult | None] = [None]

    def accepted() -> bool:
        # glusterd takes a restarted node's daemon for running only once its own connection to it
        # is up (it retries every 3 s), later than `volume status` shows the daemon online, and a
        # daemon still reconnecting to a brick fails the launch; nothing but the heal command itself
        # tells, so those two refusals mean "not yet" (the wait's timeout names the last one).
        result = last[0] = node.run(["gluster", "--mode=script", "volume", "heal", volume.name, *args], timeout=60,
                                    check=False)
        if result.ok:
            return True
        if not any(m in result.stdout + result.stderr for m in (DAEMON_NOT_RUNNING_YET, DAEMON_RECONNECTING)):
            raise CommandError(result, node.name)
        return False

    wait_for(accepted, timeout=max(timeout - (time.monotonic() - start), 1.0), interval=0.5,
             what=f"glusterd to accept `volume heal {volume.name}`",
             describe=lambda: (last[0].stdout + last[0].stderr).strip() if last[0] else "")
    return last[0].stdout


def wait_volume_whole(volume: "Volume", mounts: "Sequence[FuseMount]" = (), timeout: float = 120.0,
                      via: "Node | None" = None) -> WholeReport:
    """Wait until every brick is online, every peer Connected, every mount's children up, heal 0.

    The stages run in that order and share one deadline of `timeout` seconds; each failing stage
    raises WaitTimeout naming what was still missing.
    """
    start = time.monotonic()

    def left() -> float:
        return max(timeout - (time.monotonic() - start), 0.5)

    volume.wait_bricks_online(timeout=left(), via=via)
    bricks_s = time.monotonic() - start
    wait_peers_connected(volume.cluster, timeout=left())
    peers_s = time.monotonic() - start
    for mount in mounts:
        mount.wait_children_up(timeout=left())
    children_s = time.monotonic() - start
    heal = wait_heal(volume, timeout=left(), via=via)
    return WholeReport(volume.name, time.monotonic() - start, bricks_s, peers_s, children_s, heal)
