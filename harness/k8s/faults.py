"""Faults on Kubernetes clusters: delete a gluster pod, crash or hang kind node containers (one
node or a whole zone), and partition nodes by iptables inside the host-network gluster pods.

Each fault is a context manager and an inject/revert pair. inject() checks its targets and the
cluster's permission first (nothing changes on bad input or on an existing cluster without
--allow-destructive-faults), applies, and returns only once the effect is observed; revert() is
idempotent, safe after a half-done inject, and returns once the cluster is whole again (nodes
Ready, gluster pods Ready, every peer Connected). Events go to the run's Timeline when given.
"""
from __future__ import annotations

import itertools
import shlex
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, Iterable, Sequence

from ..cluster import HOSTNAME_LABEL, Node
from ..errors import ConfigError, HarnessError
from ..faults.network import validate_groups
from ..gluster.xml import Peer
from ..waiting import wait_for
from .cluster import K8sCapability, K8sCluster
from .discovery import running_pod

_ids = itertools.count(1)
RULE_TAG_PREFIX = "glusterharness"


class K8sFault(ABC):
    """Shared lifecycle: guard, record, apply, confirm; revert always, confirmed."""

    kind = "fault"

    def __init__(self, cluster: K8sCluster, timeline: Any = None, timeout: float = 120.0,
                 kind: str | None = None) -> None:
        self.cluster, self.timeline, self.timeout = cluster, timeline, timeout
        if kind:
            self.kind = kind
        self.fault_id = f"{cluster.run_id}-{self.kind}-{next(_ids)}"
        self.injected = False

    @property
    @abstractmethod
    def targets(self) -> tuple[str, ...]: ...

    @abstractmethod
    def describe(self) -> str: ...

    def check(self) -> None:
        """Validate targets and capabilities; raise ConfigError before anything changes."""

    @abstractmethod
    def _apply(self) -> None: ...

    @abstractmethod
    def _confirm_effect(self) -> None: ...

    @abstractmethod
    def _undo(self) -> None: ...

    @abstractmethod
    def _confirm_reverted(self) -> None: ...

    def _record(self, phase: str, **details: Any) -> None:
        if self.timeline is not None:
            self.timeline.record(self.fault_id, self.kind, phase, self.targets, **details)

    def inject(self) -> "K8sFault":
        self.check()
        self.cluster.require_destructive(self.describe())
        self._record("start")
        self.injected = True  # from here on revert must run, whatever happens
        if self.timeline is not None:
            self.timeline.activate(self.fault_id, self)
        self._apply()
        self._confirm_effect()
        self._record("effect-confirmed")
        return self

    def revert(self) -> None:
        if not self.injected:
            return
        self._record("revert-started")
        self._undo()
        self._confirm_reverted()
        self.injected = False
        self._record("revert-confirmed")
        if self.timeline is not None:
            self.timeline.deactivate(self.fault_id)

    def __enter__(self) -> "K8sFault":
        try:
            return self.inject()
        except BaseException:
            self.revert()
            raise

    def __exit__(self, *exc: object) -> None:
        self.revert()


# -- helpers ---------------------------------------------------------------------------------------
def peers_seen_from(cluster: K8sCluster, observer: str) -> dict[str, Peer]:
    """Peer status as glusterd on `observer` sees it, keyed by peer hostname (a node address)."""
    return {p.hostname: p for p in cluster.node(observer).gluster.peer_status()}


def peer_of(peers: dict[str, Peer], node: Node) -> Peer | None:
    """The peer entry of `node`: pools probed by address (kind, local) or by node name (heketi-made pools)."""
    for name in (node.address, node.name, node.labels.get(HOSTNAME_LABEL)):
        if name and name in peers:
            return peers[name]
    return None


def wait_peers(cluster: K8sCluster, observer: str, nodes: Iterable[Node], connected: bool, timeout: float,
               what: str) -> None:
    nodes = list(nodes)

    def probe() -> bool:
        try:
            peers = peers_seen_from(cluster, observer)
        except HarnessError:
            return False
        found = [peer_of(peers, n) for n in nodes]
        return all(p is not None and p.connected == connected for p in found)

    def describe() -> str:
        try:
            peers = peers_seen_from(cluster, observer)
        except HarnessError as exc:
            return f"peer status on {observer} failed: {exc}"
        states = []
        for n in nodes:
            p = peer_of(peers, n)
            states.append(f"{n.name}={'not a peer' if p is None else 'connected' if p.connected else 'disconnected'}")
        return ", ".join(states)

    wait_for(probe, timeout=timeout, what=what, describe=describe, interval=0.5)


def wait_pool_whole(cluster: K8sCluster, timeout: float) -> None:
    """Every node sees every other node Connected (what the local provider waits for, too)."""
    for node in cluster.nodes:
        others = [n for n in cluster.nodes if n is not node]
        wait_peers(cluster, node.name, others, True, timeout, f"every peer Connected as seen from {node.name}")


# -- pod deletion ----------------------------------------------------------------------------------
class DeleteGlusterPod(K8sFault):
    """Delete the gluster pod of a node (grace 0); the DaemonSet starts a new one, which is the revert."""

    kind = "pod-delete"

    def __init__(self, cluster: K8sCluster, node: str, **kw: Any) -> None:
        super().__init__(cluster, **kw)
        self.node = node
        self.old_uid: str | None = None

    @property
    def targets(self) -> tuple[str, ...]:
        return (self.node,)

    def describe(self) -> str:
        return f"delete the gluster pod on node {self.node}"

    def check(self) -> None:
        self.cluster.node(self.node)

    def _apply(self) -> None:
        pod = self.cluster.gluster_pod(self.node)
        self.old_uid = pod.uid
        self.cluster.api.core.delete_namespaced_pod(pod.name, pod.namespace, grace_period_seconds=0)  # type: ignore[attr-defined]

    def _current_uid(self) -> str | None:
        pod = running_pod(self.cluster.api.core, self.cluster.options.namespace,
                          self.cluster.options.gluster_pod_selector, self.node)
        return pod.uid if pod else None

    def _confirm_effect(self) -> None:
        wait_for(lambda: self._current_uid() != self.old_uid, timeout=self.timeout,
                 what=f"gluster pod {self.old_uid} on {self.node} to be gone")

    def _undo(self) -> None:
        pass  # the DaemonSet controller recreates the pod; revert only waits for it

    def _confirm_reverted(self) -> None:
        self.cluster.wait_node_ready(self.node, self.timeout)
        wait_pool_whole(self.cluster, self.timeout)


# -- node containers (kind) ------------------------------------------------------------------------
class NodeContainerFault(K8sFault):
    """Crash (mode 'crash': container killed) or hang (mode 'hang': container paused) nodes."""

    MODES = ("crash", "hang")

    def __init__(self, cluster: K8sCluster, nodes: Sequence[str], mode: str = "crash", kind: str | None = None,
                 **kw: Any) -> None:
        self.nodes = list(nodes)
        self.mode = mode
        super().__init__(cluster, kind=kind or f"node-{mode}", **kw)

    @property
    def targets(self) -> tuple[str, ...]:
        return tuple(self.nodes)

    def describe(self) -> str:
        return f"{self.mode} node(s) {', '.join(self.nodes)}"

    def check(self) -> None:
        if self.mode not in self.MODES:
            raise ConfigError(f"node fault mode {self.mode!r} is unknown; choose one of {', '.join(self.MODES)}")
        if not self.nodes:
            raise ConfigError("a node fault needs at least one node")
        for name in self.nodes:
            self.cluster.node(name)
        if K8sCapability.NODE_CONTAINER_FAULTS not in self.cluster.capabilities:
            raise ConfigError(
                f"cannot {self.describe()}: this cluster's nodes are not containers the harness controls "
                f"(only the kind provider's are); use DeleteGlusterPod or IptablesPartition instead"
            )

    @property
    def _runtime(self) -> Any:
        return self.cluster.node_runtime

    def _apply(self) -> None:
        for name in self.nodes:
            if self.mode == "crash":
                self._runtime.stop(name)
            else:
                self._runtime.pause(name)

    def _confirm_effect(self) -> None:
        wanted = "exited" if self.mode == "crash" else "paused"
        wait_for(lambda: all(self._runtime.state(n) == wanted for n in self.nodes), timeout=self.timeout,
                 what=f"node container(s) {', '.join(self.nodes)} {wanted}",
                 describe=lambda: ", ".join(f"{n}={self._runtime.state(n)}" for n in self.nodes))
        survivors = [n for n in self.cluster.nodes if n.name not in self.nodes]
        if self.mode == "crash" and survivors:
            # A killed node resets its TCP connections: glusterd notices at once.
            lost = [self.cluster.node(n) for n in self.nodes]
            wait_peers(self.cluster, survivors[0].name, lost, False, self.timeout,
                       f"{survivors[0].name} to see {', '.join(self.nodes)} disconnected")

    def _undo(self) -> None:
        for name in self.nodes:
            state = self._runtime.state(name)
            if state == "paused":
                self._runtime.unpause(name)
            elif state in ("exited", "created", "dead"):
                self._runtime.start(name)

    def _confirm_reverted(self) -> None:
        wait_for(lambda: all(self._runtime.state(n) == "running" for n in self.nodes), timeout=self.timeout,
                 what=f"node container(s) {', '.join(self.nodes)} running")
        for name in self.nodes:
            self.cluster.wait_node_ready(name, self.timeout)
        wait_pool_whole(self.cluster, self.timeout)





# -- partition by iptables -------------------------------------------------------------------------
@dataclass(frozen=True)
class Rule:
    """One iptables rule on one node (as `iptables -I CHAIN 1 <args>`)."""

    node: str
    chain: str
    peer: str  # the address cut off

    def args(self, tag: str) -> list[str]:
        direction = "-s" if self.chain == "INPUT" else "-d"
        return [direction, f"{self.peer}/32", "-m", "comment", "--comment", tag, "-j", "DROP"]


def plan_partition(groups: Sequence[Sequence[str]], addresses: dict[str, str], node_names: set[str]) -> list[Rule]:
    """The rules that cut every group from every other, applied on nodes only.

    Pure: `addresses` maps every host name (nodes and clients) to its address; `node_names` are
    the hosts with a host-network gluster pod to hold rules. Each node drops traffic to and from
    every host of the other groups; a cut between two hosts neither of which is a node cannot be
    enforced here and is a ConfigError.
    """
    validate_groups(groups, list(addresses), one_way=False)
    rules = []
    for i, group in enumerate(groups):
        for j, other in enumerate(groups):
            if i == j:
                continue
            for a in group:
                for b in other:
                    if a not in node_names and b not in node_names:
                        raise ConfigError(
                            f"cannot cut {a} from {b}: neither is a storage node, and rules live in the "
                            f"host-network gluster pods; put client hosts in groups that face a node"
                        )
                    if a in node_names:
                        rules += [Rule(a, "INPUT", addresses[b]), Rule(a, "OUTPUT", addresses[b])]
    return sorted(set(rules), key=lambda r: (r.node, r.chain, r.peer))


class IptablesPartition(K8sFault):
    """Cut groups of hosts from each other with iptables rules in the nodes' gluster pods."""

    kind = "partition"

    def __init__(self, cluster: K8sCluster, groups: Sequence[Sequence[str]], **kw: Any) -> None:
        super().__init__(cluster, **kw)
        self.groups = [list(g) for g in groups]
        self.tag = f"{RULE_TAG_PREFIX}-{self.fault_id}"
        self.rules: list[Rule] = []

    @property
    def targets(self) -> tuple[str, ...]:
        return tuple("|".join(g) for g in self.groups)

    def describe(self) -> str:
        return "partition " + " / ".join(",".join(g) for g in self.groups)

    def check(self) -> None:
        addresses = {n.name: n.address for n in self.cluster.nodes}
        addresses.update({c.name: c.address for c in self.cluster.clients})
        self.rules = plan_partition(self.groups, addresses, {n.name for n in self.cluster.nodes})

    def _apply(self) -> None:
        for rule in self.rules:
            self.cluster.node(rule.node).run(["iptables", "-w", "-I", rule.chain, "1", *rule.args(self.tag)], timeout=30)

    def _tagged(self, node: str) -> list[str]:
        out = self.cluster.node(node).run(["iptables", "-w", "-S"], timeout=30).stdout
        return [line for line in out.splitlines() if self.tag in line]

    def _confirm_effect(self) -> None:
        for node in sorted({r.node for r in self.rules}):
            want = len([r for r in self.rules if r.node == node])
            have = len(self._tagged(node))
            if have != want:
                raise HarnessError(f"partition rules on {node}: expected {want}, found {have} tagged {self.tag}")
        # Observed from a node inside the cut: glusterd loses its peers on the other side.
        node_names = {n.name for n in self.cluster.nodes}
        for i, group in enumerate(self.groups):
            observers = [h for h in group if h in node_names]
            others = [self.cluster.node(h) for j, g in enumerate(self.groups) if j != i for h in g
                      if h in node_names]
            if observers and others:
                wait_peers(self.cluster, observers[0], others, False, self.timeout,
                           f"{observers[0]} to see the other side of the partition disconnected")
                break

    def _undo(self) -> None:
        for node in sorted({r.node for r in self.rules}):
            remove_tagged_rules(self.cluster, node, self.tag)

    def _confirm_reverted(self) -> None:
        for node in sorted({r.node for r in self.rules}):
            left = self._tagged(node)
            if left:
                raise HarnessError(f"partition rules left on {node} after revert: {left}")
        wait_pool_whole(self.cluster, self.timeout)


def remove_tagged_rules(cluster: K8sCluster, node: str, tag_prefix: str) -> int:
    """Delete every iptables rule on node whose comment starts with tag_prefix; returns how many.

    Also used for leftovers of a crashed run (tag prefix glusterharness-<run id>).
    """
    out = cluster.node(node).run(["iptables", "-w", "-S"], timeout=30).stdout
    removed = 0
    for line in out.splitlines():
        words = shlex.split(line)
        if len(words) > 2 and words[0] == "-A" and any(w.startswith(tag_prefix) for w in words):
            cluster.node(node).run(["iptables", "-w", "-D", *words[1:]], timeout=30)
            removed += 1
    return removed


ZONE_MODES = ("crash", "hang", "isolate")


def zone_outage(cluster: K8sCluster, zone: str, mode: str = "crash", **kw: Any) -> K8sFault:
    """Every node of a zone at once: crashed or hung (kind node containers), or isolated by iptables
    from every other node and client (any cluster, given permission)."""
    if mode not in ZONE_MODES:
        raise ConfigError(f"zone outage mode {mode!r} is unknown; choose one of {', '.join(ZONE_MODES)}")
    nodes = [n.name for n in cluster.nodes_in_zone(zone)]
    if mode == "isolate":
        rest = [n.name for n in cluster.nodes if n.name not in nodes] + [c.name for c in cluster.clients]
        if not rest:
            raise ConfigError(f"zone {zone} holds every host; there is nothing to isolate it from")
        return IptablesPartition(cluster, [nodes, rest], kind="zone-outage-isolate", **kw)
    return NodeContainerFault(cluster, nodes, mode, kind=f"zone-outage-{mode}", **kw)


def restore_node_containers(runtime: Any, nodes: Iterable[str]) -> list[str]:
    """Start or unpause node containers a crashed run left stopped or paused; returns what was done."""
    undone = []
    for name in nodes:
        state = runtime.state(name)
        if state == "paused":
            runtime.unpause(name)
        elif state in ("exited", "created", "dead"):
            runtime.start(name)
        else:
            continue
        undone.append(f"node container {name} was {state}")
    return undone


def sweep_partition_rules(cluster: K8sCluster) -> list[str]:
    """Remove iptables rules a crashed run's partitions left in the gluster pods (tag prefix
    glusterharness-). A pod whose image lacks iptables cannot carry such rules: skipped."""
    undone = []
    for node in cluster.nodes:
        listing = node.run(["iptables", "-w", "-S"], timeout=30, check=False)
        if listing.ok and f"{RULE_TAG_PREFIX}-" in listing.stdout:
            count = remove_tagged_rules(cluster, node.name, f"{RULE_TAG_PREFIX}-")
            undone.append(f"{count} partition rule(s) on {node.name}")
    return undone
