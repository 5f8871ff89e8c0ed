"""What a pool looks like across version swaps, and what goes wrong there: peer states, glusterd
handshakes, the volume info files every peer must store alike, and GlusterFS 11's rejection of
upgraded nodes (gluster/glusterfs#4016) with the workaround the harness can apply.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

from .errors import HarnessError
from .faults.hosted import signal_pids
from .gluster.glusterd_log import log_lines
from .health import run_heal_command
from .providers.host.proc import procs
from .waiting import wait_for

if TYPE_CHECKING:
    from .cluster import Cluster, Node
    from .volume import Volume

ISSUE_4016 = ("gluster/glusterfs#4016 (Gluster 11 upgrade failure): the upgraded node's stored volume info and its "
              "10.x peers' differ in nfs.disable=on, the checksums differ, and the node is Peer Rejected")
WORKAROUNDS = {"4016": ISSUE_4016}
CKSUM_PATTERN = "Cksums"  # "Version of Cksums VOL differ" (10.x, 11.x glusterd_compare_friend_volume)
REJECTED = "Peer Rejected"
IN_CLUSTER = "Peer in Cluster"


class PeerRejected(HarnessError):
    """A node's peers rejected it after a version swap; carries what was seen."""

    def __init__(self, message: str, evidence: dict[str, Any]) -> None:
        super().__init__(message)
        self.evidence = evidence


@dataclass
class Finding:
    """Something GlusterFS did wrong during the upgrade, with the upstream issue it is owed to."""

    issue: str
    node: str
    version: str
    observed: str
    evidence: dict[str, Any] = field(default_factory=dict)
    worked_around: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {"issue": self.issue, "node": self.node, "version": self.version, "observed": self.observed,
                "worked_around": self.worked_around, "evidence": self.evidence}


def peer_states(cluster: "Cluster") -> dict[str, dict[str, tuple[str, bool]]]:
    """node name -> {peer address: (state, connected)}; a node whose CLI fails maps to {}."""
    states: dict[str, dict[str, tuple[str, bool]]] = {}
    for node in cluster.nodes:
        try:
            states[node.name] = {p.hostname: (p.state, p.connected) for p in node.gluster.peer_status()}
        except HarnessError:
            states[node.name] = {}
    return states


def pool_whole(cluster: "Cluster", states: dict[str, dict[str, tuple[str, bool]]]) -> bool:
    expected = len(cluster.nodes) - 1
    return all(len(peers) == expected and all(s == IN_CLUSTER and c for s, c in peers.values())
               for peers in states.values())


def rejected_pairs(states: dict[str, dict[str, tuple[str, bool]]]) -> list[str]:
    return [f"{node} sees {peer} {REJECTED}" for node, peers in states.items()
            for peer, (state, _) in peers.items() if state == REJECTED]


def pool_log_lines(cluster: "Cluster", pattern: str) -> dict[str, list[str]]:
    return {n.name: lines for n in cluster.nodes if (lines := log_lines(n, pattern))}


def volume_info_files(cluster: "Cluster", volume: str) -> dict[str, str]:
    """Each node's /var/lib/glusterd/vols/VOL/info, as glusterd stored it."""
    return {n.name: n.run(["cat", f"/var/lib/glusterd/vols/{volume}/info"], timeout=30, check=False).stdout
            for n in cluster.nodes}


def info_differences(files: dict[str, str]) -> dict[str, list[str]]:
    """Per node, the info lines that node has and another node lacks (empty when all identical)."""
    sets = {n: set(text.splitlines()) for n, text in files.items()}
    common = set.intersection(*sets.values()) if sets else set()
    return {n: sorted(lines - common) for n, lines in sets.items() if lines - common}


def self_heal_pids(node: "Node") -> list[int]:
    """The node's self-heal daemon processes (glusterfs serving the volfile "shd/VOL")."""
    found = []
    for pid in node.pids():
        try:
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:  # exited meanwhile
            continue
        if any(arg.startswith(b"shd/") for arg in argv):
            found.append(pid)
    return found


def handshakes(cluster: "Cluster", node: "Node") -> dict[str, int]:
    """How many friend handshakes between `node` and each peer the glusterd logs hold, each way:
    "A->B" counts B's answers to A ("Responded to A" in B's log: B compared A's volumes and
    accepted or rejected it)."""
    counts = {}
    for peer in cluster.nodes:
        if peer is not node:
            counts[f"{node.name}->{peer.name}"] = len(log_lines(peer, f"Responded to {node.address} "))
            counts[f"{peer.name}->{node.name}"] = len(log_lines(node, f"Responded to {peer.address} "))
    return counts


def wait_handshakes(cluster: "Cluster", node: "Node", before: dict[str, int], timeout: float) -> None:
    """Until every handshake between a restarted node and each peer has happened again, both ways.
    Until then the peer list can show a stale "Peer in Cluster": a peer accepts the restarted node
    seconds before the node, comparing the peer's volumes in turn, rejects it (seen: 2.8 s)."""
    last: list[dict[str, int]] = [{}]

    def done() -> bool:
        last[0] = handshakes(cluster, node)
        return all(last[0][k] > v for k, v in before.items())

    wait_for(done, timeout=timeout, interval=0.1, what=f"glusterd handshakes of {node.name} with every peer",
             describe=lambda: ", ".join(f"{k} {'done' if last[0].get(k, 0) > v else 'pending'}"
                                        for k, v in before.items()))


def volume_names(cluster: "Cluster", node: "Node", known: "Sequence[Volume]") -> list[str]:
    """The pool's volumes, asked of the other nodes first (`node` was just restarted)."""
    for n in [*(x for x in cluster.nodes if x is not node), node]:
        try:
            return n.gluster.volume_names()
        except HarnessError:
            continue
    return [v.name for v in known]


def diagnose_rejection(cluster: "Cluster", node: "Node", version: str, rejected: list[str],
                       names: Sequence[str]) -> Finding:
    cksums = pool_log_lines(cluster, CKSUM_PATTERN)
    diffs = {}
    for name in names:
        diff = info_differences(volume_info_files(cluster, name))
        if diff:
            diffs[name] = diff
    only_nfs = bool(diffs) and all(line.startswith("nfs.disable=")
                                   for diff in diffs.values() for lines in diff.values() for line in lines)
    issue = ISSUE_4016 if only_nfs and cksums else "unexplained Peer Rejected (no known upstream issue matched)"
    observed = (f"{'; '.join(rejected)}; glusterd logged {sum(map(len, cksums.values()))} 'Cksums ... differ' "
                f"lines; volume info differs in: {diffs}")
    return Finding(issue, node.name, version, observed,
                   {"rejected": rejected, "cksum_lines": {k: v[-3:] for k, v in cksums.items()},
                    "info_differences": diffs})


def work_around_4016(cluster: "Cluster", volumes: "Sequence[Volume]", found_at: "Node", timeout: float) -> None:
    """What #4016's reporter did, for every node at once: with every glusterd stopped (bricks
    and clients keep serving), drop nfs.disable=on from each volume's stored info, then start
    the glusterds; each computes its checksum from the file, so all agree. Once the key is out
    of a volume's definition no version writes it again. Bumping the volume's version instead
    (so peers import) fails: a transaction reaches every peer in the cluster with the node,
    and a 10.x peer given the same version writes nfs.disable=on again.

    The self-heal daemons are stopped with the glusterds: a starting glusterd that finds its
    daemon running sends it SIGTERM and starts the new one at once, without waiting for the old
    one to exit; the new one cannot bind the socket the old one still holds ("Address already
    in use"), and glusterd gives up attaching it ("Couldn't start shd for vol"), leaving the node
    without a self-heal daemon (seen 1 in 5 runs, on 11.1). With none running, glusterd starts
    a fresh one."""
    stopping = {n.name: procs([p] if (p := n.glusterd_pid()) else [])
                + procs(self_heal_pids(n)) for n in cluster.nodes}
    for n in cluster.nodes:
        signal_pids(n, [p.pid for p in stopping[n.name]], "TERM")
    wait_for(lambda: all(p.reaped() for ps in stopping.values() for p in ps), timeout=timeout,
             interval=0.05, what="every glusterd and self-heal daemon to exit for the #4016 workaround")
    for n in cluster.nodes:
        n.run(["sh", "-c", "for f in /var/lib/glusterd/vols/*/info; do [ -e \"$f\" ] || continue; "
               "sed -i '/^nfs.disable=/d' \"$f\"; done"], timeout=30)
    before = {n.name: handshakes(cluster, n) for n in cluster.nodes}
    for n in cluster.nodes:
        n.start_glusterd()
    for n in cluster.nodes:
        wait_handshakes(cluster, n, before[n.name], timeout)
    last: list[dict] = [{}]

    def whole() -> bool:
        last[0] = peer_states(cluster)
        return pool_whole(cluster, last[0])

    wait_for(whole, timeout=timeout, interval=0.1, describe=lambda: str(last[0]),
             what=f"every peer in the cluster after the #4016 workaround (found at {found_at.name})")
    # The new glusterds restarted their self-heal daemons; the new ones crawl only when
    # they see a brick come back, so the entries written meanwhile wait (seen: 25 s). Ask.
    for volume in volumes:
        run_heal_command(volume, timeout=timeout)
