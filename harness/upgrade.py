"""Rolling upgrade (and downgrade) of a cluster's GlusterFS, one node at a time, as an operator
does it: stop the node's gluster (glusterd, bricks, self-heal daemon), swap its version, start
it, wait until its bricks are online, every peer is Connected and in the cluster, every client
child is up and pending heal is 0, then go on to the next node. Each step goes on the Timeline
with the version of every node, so a report can show versions per node over time.

Plus what an upgrade needs around it: the cluster's op-version (read, bump), the glusterd logs'
signs of a pool falling apart ("Peer Rejected", "Cksums ... differ"), and the volume info files
that must be identical on every peer.

A defect found on the way is named, never hidden: GlusterFS 11 drops `nfs.disable=on` from a
volume's stored info, so its checksum differs from 10.x peers' and the upgraded node is
rejected (gluster/glusterfs#4016). With `workarounds=("4016",)` the upgrade records the finding,
applies the workaround (every glusterd and self-heal daemon stopped, nfs.disable=on dropped from
each volume's stored info, the glusterds started: the issue reporter's fix, for all nodes at once)
and goes on.
"""
from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Sequence

from . import versions
from .errors import ConfigError, HarnessError
from .faults.base import Fault
from .faults.process import node_support, signal_pids
from .gluster import GlusterError
from .health import run_heal_command, wait_volume_whole
from .proc import procs
from .waiting import wait_for

if TYPE_CHECKING:
    from .cluster import Cluster, Node
    from .volume import Volume

log = logging.getLogger("harness.upgrade")

ISSUE_4016 = ("gluster/glusterfs#4016 (Gluster 11 upgrade failure): the upgraded node's stored volume info and its "
              "10.x peers' differ in nfs.disable=on, the checksums differ, and the node is Peer Rejected")
WORKAROUNDS = {"4016": ISSUE_4016}
GLUSTERD_LOG = "/var/log/glusterfs/glusterd.log"
CKSUM_PATTERN = "Cksums"  # "Version of Cksums VOL differ" (10.x, 11.x glusterd_compare_friend_volume)
REJECTED = "Peer Rejected"
IN_CLUSTER = "Peer in Cluster"
STOPPED = "stopped"  # a node's "version" while it is down for its swap


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


# --- op-version -------------------------------------------------------------------------------

def client_op_versions(node: "Node", volume: str) -> dict[str, int]:
    """Each client address connected to the volume's bricks -> its op-version (`volume status VOL
    clients`; a brick's own glusterd-side clients, shd and others, included)."""
    root = node.gluster.xml("volume", "status", volume, "clients")
    found: dict[str, int] = {}
    for client in root.findall("volStatus/volumes/volume/node/clientsStatus/client"):
        address = (client.findtext("hostname") or "").rsplit(":", 1)[0]
        op = (client.findtext("opVersion") or "").strip()
        if address and op.isdigit():
            found[address] = int(op)
    return found


def op_versions(node: "Node") -> tuple[int, int]:
    """(cluster.op-version, cluster.max-op-version) as `node` sees them."""
    return (int(node.gluster.volume_get("all", "cluster.op-version")),
            int(node.gluster.volume_get("all", "cluster.max-op-version")))


def bump_op_version(node: "Node", op_version: int) -> str | None:
    """Try `volume set all cluster.op-version N`; None when accepted, else gluster's refusal."""
    try:
        node.gluster.xml("volume", "set", "all", "cluster.op-version", str(op_version))
    except GlusterError as exc:
        return exc.errstr or str(exc)
    return None


# --- what the pool looks like -----------------------------------------------------------------

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


def log_lines(node: "Node", pattern: str, path: str = GLUSTERD_LOG) -> list[str]:
    """Lines of a node's glusterd log containing `pattern` (fixed string)."""
    result = node.run(["grep", "-F", "--", pattern, path], timeout=30, check=False)
    return [line for line in result.stdout.splitlines() if line.strip()]


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


def node_versions(cluster: "Cluster") -> dict[str, str]:
    return {n.name: getattr(n, "version", "?") for n in cluster.nodes}


def running_version(node: "Node", path: str = GLUSTERD_LOG) -> str | None:
    """The version the node's glusterd last logged at start ("Started running ... {version=11.1}")."""
    lines = log_lines(node, "Started running", path)
    found = re.findall(r"\{version=([^}]+)\}", lines[-1]) if lines else []
    return found[0] if found else None


# --- the rolling step -------------------------------------------------------------------------

def self_heal_pids(node: "Node") -> list[int]:
    """The node's self-heal daemon processes (glusterfs serving the volfile "shd/VOL")."""
    found = []
    for pid in node.pids():  # type: ignore[attr-defined]
        try:
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:  # exited meanwhile
            continue
        if any(arg.startswith(b"shd/") for arg in argv):
            found.append(pid)
    return found


def stop_node(node: "Node", timeout: float) -> dict[str, Any]:
    """Stop everything gluster on a node as a pod's termination does (SIGTERM), and wait until
    every process is reaped: the next glusterd must not find a brick it still sees running."""
    pids = node.pids()  # type: ignore[attr-defined]
    stopped = procs(pids)
    signal_pids(node, pids, "TERM")
    wait_for(lambda: all(p.reaped() for p in stopped), timeout=timeout, interval=0.05,
             what=f"gluster processes of {node.name} to exit after SIGTERM",
             describe=lambda: ", ".join(f"{p.pid}={p.state()}" for p in stopped if not p.reaped()))
    return {"stopped": len(stopped)}


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


class RollingUpgrade(Fault):
    """Every node (in `nodes` order, default all) swapped to `version` in turn, the volume whole
    and healed between steps. inject() returns when the last node is done; revert() does not
    downgrade (an upgrade is meant to stay; run another RollingUpgrade to go back) but brings a
    node stopped mid-step back up, so the pool is whole again."""

    kind = "rolling-upgrade"

    def __init__(self, cluster: "Cluster", version: str, volumes: "Sequence[Volume]" = (), nodes: Sequence[str] = (),
                 heal_timeout: float = 120.0, workarounds: Sequence[str] = (),
                 on_step: "Callable[[Node, dict[str, Any]], None] | None" = None, **kw: Any) -> None:
        super().__init__(cluster, **kw)
        self.version = str(version)
        self.order = [cluster.node(n) for n in nodes] if nodes else list(cluster.nodes)
        if len({n.name for n in self.order}) != len(self.order):
            raise ConfigError(f"rolling upgrade names a node twice: {[n.name for n in self.order]}")
        for node in self.order:
            node_support(node)
            if not hasattr(node, "set_version"):
                raise ConfigError(f"node {node.name} ({type(node).__name__}) cannot change its GlusterFS version; "
                                  f"rolling upgrades need the local provider")
        if self.version != versions.installed_version():
            versions.require(self.version)  # refused before anything changes when not fetched
        unknown = sorted(set(workarounds) - set(WORKAROUNDS))
        if unknown:
            raise ConfigError(f"unknown workarounds {unknown}; known: {', '.join(sorted(WORKAROUNDS))}")
        if heal_timeout <= 0:
            raise ConfigError(f"heal_timeout must be positive, got {heal_timeout}")
        self._volumes = list(volumes)
        self.heal_timeout = heal_timeout
        self.workarounds = tuple(workarounds)
        self.steps: list[dict[str, Any]] = []
        self.findings: list[Finding] = []
        self._stopped: "Node | None" = None
        self.on_step = on_step  # called after each node's step (a test checks its data there)
        # (time, phase, version per node) at each node's stop, its glusterd's start and the end of
        # its step; between stop and start a node is "stopped".
        self.points: list[dict[str, Any]] = []

    def params(self) -> dict[str, Any]:
        return {"version": self.version, "volumes": [v.name for v in self._volumes],
                "nodes": [n.name for n in self.order], "heal_timeout": self.heal_timeout,
                "workarounds": list(self.workarounds)}

    def targets(self) -> tuple[str, ...]:
        return tuple(n.name for n in self.order)

    def _own_volumes(self) -> "list[Volume]":
        return self._volumes

    def _apply(self) -> None:
        self.timeline.record(self.fault_id, self.kind, "versions", self.targets(), versions=node_versions(self.cluster))
        for node in self.order:
            if node.version == self.version:  # type: ignore[attr-defined]
                continue
            self.steps.append(self.upgrade_node(node))
            if self.on_step is not None:
                self.on_step(node, self.steps[-1])

    def upgrade_node(self, node: "Node") -> dict[str, Any]:
        start = time.monotonic()
        before = node.version  # type: ignore[attr-defined]
        self.points.append({"t": time.time(), "phase": f"{node.name} stopping",
                            "versions": {**node_versions(self.cluster), node.name: STOPPED}})
        self._stopped = node
        stop = stop_node(node, self.timeout)
        node.set_version(self.version)  # type: ignore[attr-defined]
        shaken = handshakes(self.cluster, node)
        node.start_glusterd()  # type: ignore[attr-defined]
        self._stopped = None
        started = running_version(node)
        if started != self.version:
            raise HarnessError(f"{node.name} was swapped to GlusterFS {self.version} but its glusterd logged "
                               f"version {started!r} at start ({GLUSTERD_LOG})")
        self.points.append({"t": time.time(), "phase": f"{node.name} started {started}",
                            "versions": node_versions(self.cluster)})
        wait_handshakes(self.cluster, node, shaken, self.timeout)
        peers = self.wait_pool(node)
        heal = {}
        for volume in self.volumes():
            mounts = [m for m in self.mounts if m.volume is volume]
            heal[volume.name] = round(wait_volume_whole(volume, mounts, timeout=self.heal_timeout,
                                                        via=node).heal.seconds, 3)
        step = {"node": node.name, "from": before, "to": self.version, "glusterd_logged": started,
                "seconds": round(time.monotonic() - start, 3), "heal_seconds": heal, **stop, **peers,
                "versions": node_versions(self.cluster)}
        self.timeline.record(self.fault_id, self.kind, "step", (node.name,), **step)
        self.points.append({"t": time.time(), "phase": f"{node.name} at {self.version}", "versions": step["versions"]})
        log.info("%s: %s -> %s in %.1f s", node.name, before, self.version, step["seconds"])
        return step

    def wait_pool(self, node: "Node") -> dict[str, Any]:
        """Until every peer is in the cluster and Connected. A rejection is a finding: with its
        workaround enabled it is worked around and the wait goes on, else PeerRejected."""
        last: list[dict] = [{}]

        def settled() -> bool:
            last[0] = peer_states(self.cluster)
            return pool_whole(self.cluster, last[0]) or bool(rejected_pairs(last[0]))

        start = time.monotonic()
        wait_for(settled, timeout=self.timeout, interval=0.1, what=f"peers of {node.name} to settle after its start",
                 describe=lambda: str(last[0]))
        rejected = rejected_pairs(last[0])
        if not rejected:
            return {"peers_s": round(time.monotonic() - start, 3)}
        finding = self.diagnose_rejection(node, rejected)
        self.findings.append(finding)
        self.timeline.record(self.fault_id, self.kind, "finding", (node.name,), **finding.to_dict())
        if finding.issue != ISSUE_4016 or "4016" not in self.workarounds:
            raise PeerRejected(f"{node.name} at GlusterFS {self.version}: {'; '.join(rejected)}. {finding.issue}",
                               finding.to_dict())
        self.work_around_4016(node)
        finding.worked_around = True
        return {"peers_s": round(time.monotonic() - start, 3), "finding": finding.issue}

    def diagnose_rejection(self, node: "Node", rejected: list[str]) -> Finding:
        cksums = pool_log_lines(self.cluster, CKSUM_PATTERN)
        diffs = {}
        for name in self._volume_names(node):
            diff = info_differences(volume_info_files(self.cluster, name))
            if diff:
                diffs[name] = diff
        only_nfs = bool(diffs) and all(line.startswith("nfs.disable=")
                                       for diff in diffs.values() for lines in diff.values() for line in lines)
        issue = ISSUE_4016 if only_nfs and cksums else "unexplained Peer Rejected (no known upstream issue matched)"
        observed = (f"{'; '.join(rejected)}; glusterd logged {sum(map(len, cksums.values()))} 'Cksums ... differ' "
                    f"lines; volume info differs in: {diffs}")
        return Finding(issue, node.name, self.version, observed,
                       {"rejected": rejected, "cksum_lines": {k: v[-3:] for k, v in cksums.items()},
                        "info_differences": diffs})

    def _volume_names(self, node: "Node") -> list[str]:
        for n in [*(x for x in self.cluster.nodes if x is not node), node]:
            try:
                return n.gluster.volume_names()
            except HarnessError:
                continue
        return [v.name for v in self.volumes()]

    def work_around_4016(self, node: "Node") -> None:
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
        stopping = {n.name: procs([p] if (p := n.glusterd_pid()) else [])  # type: ignore[attr-defined]
                    + procs(self_heal_pids(n)) for n in self.cluster.nodes}
        for n in self.cluster.nodes:
            signal_pids(n, [p.pid for p in stopping[n.name]], "TERM")
        wait_for(lambda: all(p.reaped() for ps in stopping.values() for p in ps), timeout=self.timeout,
                 interval=0.05, what="every glusterd and self-heal daemon to exit for the #4016 workaround")
        for n in self.cluster.nodes:
            n.run(["sh", "-c", "for f in /var/lib/glusterd/vols/*/info; do [ -e \"$f\" ] || continue; "
                   "sed -i '/^nfs.disable=/d' \"$f\"; done"], timeout=30)
        before = {n.name: handshakes(self.cluster, n) for n in self.cluster.nodes}
        for n in self.cluster.nodes:
            n.start_glusterd()  # type: ignore[attr-defined]
        for n in self.cluster.nodes:
            wait_handshakes(self.cluster, n, before[n.name], self.timeout)
        last: list[dict] = [{}]

        def whole() -> bool:
            last[0] = peer_states(self.cluster)
            return pool_whole(self.cluster, last[0])

        wait_for(whole, timeout=self.timeout, interval=0.1, describe=lambda: str(last[0]),
                 what=f"every peer in the cluster after the #4016 workaround (found at {node.name})")
        # The new glusterds restarted their self-heal daemons; the new ones crawl only when
        # they see a brick come back, so the entries written meanwhile wait (seen: 25 s). Ask.
        for volume in self.volumes():
            run_heal_command(volume, timeout=self.timeout)

    def _confirm_effect(self) -> dict[str, Any]:
        wrong = {n: v for n, v in node_versions(self.cluster).items()
                 if v != self.version and self.cluster.node(n) in self.order}
        if wrong:
            raise HarnessError(f"after the rolling upgrade to {self.version} these nodes run other versions: {wrong}")
        return {"steps": self.steps, "findings": [f.to_dict() for f in self.findings],
                "versions": node_versions(self.cluster)}

    def _undo(self) -> None:
        node, self._stopped = self._stopped, None
        if node is not None and node.glusterd_pid() is None:  # type: ignore[attr-defined]
            node.start_glusterd()  # type: ignore[attr-defined]
