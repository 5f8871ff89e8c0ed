"""Partitions on Kubernetes clusters: iptables rules inside the host-network gluster pods, planned
as pure rules (plan_partition), tagged with the fault id so a crashed run's rules are found and
removed (sweep_partition_rules); and the zone outage, which crashes, hangs or isolates every node
of a zone.
"""
from __future__ import annotations

import shlex
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Sequence

from ..control import Capability
from ..errors import ConfigError, HarnessError
from .base import Fault
from .network import validate_groups
from ..health import wait_peers_connected
from .pod import K8S_FAULT_TIMEOUT_S, NodeContainerFault, wait_peers

if TYPE_CHECKING:
    from ..k8s.cluster import K8sCluster

RULE_TAG_PREFIX = "glusterharness"


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


class IptablesPartition(Fault):
    """Cut groups of hosts from each other with iptables rules in the nodes' gluster pods."""

    kind = "pod-partition"
    needs = frozenset({Capability.POD_FAULTS, Capability.NETWORK_FAULTS})  # the rules live in the gluster pods

    def __init__(self, cluster: "K8sCluster", groups: Sequence[Sequence[str]], timeout: float = K8S_FAULT_TIMEOUT_S,
                 **kw: Any) -> None:
        super().__init__(cluster, timeout=timeout, **kw)
        self.groups = [list(g) for g in groups]
        addresses = {n.name: n.address for n in cluster.nodes}
        addresses.update({c.name: c.address for c in cluster.clients})
        self.rules = plan_partition(self.groups, addresses, {n.name for n in cluster.nodes})
        self.tag = f"{RULE_TAG_PREFIX}-{self.fault_id}"

    def params(self) -> dict[str, Any]:
        return {"groups": [list(g) for g in self.groups]}

    def targets(self) -> tuple[str, ...]:
        return tuple("|".join(g) for g in self.groups)

    def _apply(self) -> None:
        for rule in self.rules:
            self.cluster.node(rule.node).run(["iptables", "-w", "-I", rule.chain, "1", *rule.args(self.tag)], timeout=30)

    def _tagged(self, node: str) -> list[str]:
        out = self.cluster.node(node).run(["iptables", "-w", "-S"], timeout=30).stdout
        return [line for line in out.splitlines() if self.tag in line]

    def _confirm_effect(self) -> dict[str, Any]:
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
        return {"rules": len(self.rules)}

    def _undo(self) -> None:
        for node in sorted({r.node for r in self.rules}):
            remove_tagged_rules(self.cluster, node, self.tag)

    def _confirm_revert(self) -> None:
        for node in sorted({r.node for r in self.rules}):
            left = self._tagged(node)
            if left:
                raise HarnessError(f"partition rules left on {node} after revert: {left}")
        wait_peers_connected(self.cluster, self.timeout)


def remove_tagged_rules(cluster: "K8sCluster", node: str, tag_prefix: str) -> int:
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


def sweep_partition_rules(cluster: "K8sCluster") -> list[str]:
    """Remove iptables rules a crashed run's partitions left in the gluster pods (tag prefix
    glusterharness-). A pod whose image lacks iptables cannot carry such rules: skipped."""
    undone = []
    for node in cluster.nodes:
        listing = node.run(["iptables", "-w", "-S"], timeout=30, check=False)
        if listing.ok and f"{RULE_TAG_PREFIX}-" in listing.stdout:
            count = remove_tagged_rules(cluster, node.name, f"{RULE_TAG_PREFIX}-")
            undone.append(f"{count} partition rule(s) on {node.name}")
    return undone


ZONE_MODES = ("crash", "hang", "isolate")


def zone_outage(cluster: "K8sCluster", zone: str, mode: str = "crash", **kw: Any) -> Fault:
    """Every node of a zone at once: crashed or hung (kind node containers), or isolated by iptables
    from every other node and client (any cluster, given permission)."""
    if mode not in ZONE_MODES:
        raise ConfigError(f"zone outage mode {mode!r} is unknown; choose one of {', '.join(ZONE_MODES)}")
    nodes = [n.name for n in cluster.nodes_in_zone(zone)]
    if mode == "isolate":
        rest = [n.name for n in cluster.nodes if n.name not in nodes] + [c.name for c in cluster.clients]
        if not rest:
            raise ConfigError(f"zone {zone} holds every host; there is nothing to isolate it from")
        return IptablesPartition(cluster, [nodes, rest], **kw)
    return NodeContainerFault(cluster, nodes, mode, **kw)
