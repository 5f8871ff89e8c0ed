"""Network faults with nftables inside the node and client namespaces: partitions, an isolated
node, packet loss. The plan (which host drops what) is a pure function, tested without a network.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from itertools import combinations
from typing import TYPE_CHECKING, Any, Mapping, Sequence

from ..control import Capability
from ..errors import ConfigError, HarnessError
from ..providers.host.proc import process_start_time
from . import netfilter
from .base import Fault, resolve_host
from .probe import probe_connect

if TYPE_CHECKING:
    from ..cluster import Cluster

PROBE_TIMEOUT_S = 0.2


@dataclass(frozen=True)
class HostRules:
    """What one host drops: packets from these addresses (input) and to these (output)."""

    drop_from: tuple[str, ...]
    drop_to: tuple[str, ...]


def validate_groups(groups: Sequence[Sequence[str]], known: Sequence[str], one_way: bool) -> None:
    if len(groups) < 2:
        raise ConfigError(f"a partition needs at least 2 groups, got {len(groups)}: {list(map(list, groups))}")
    if one_way and len(groups) != 2:
        raise ConfigError(f"a one-way partition needs exactly 2 groups (from, to), got {len(groups)}")
    seen: dict[str, int] = {}
    for i, group in enumerate(groups):
        if not group:
            raise ConfigError(f"partition group {i} is empty; every group needs at least one host")
        for name in group:
            if name not in known:
                raise ConfigError(f"partition group {i} names unknown host {name!r}; known hosts: {', '.join(known)}")
            if name in seen and seen[name] != i:
                raise ConfigError(f"host {name!r} is in partition groups {seen[name]} and {i}: groups must not overlap")
            seen[name] = i


def plan_partition(groups: Sequence[Sequence[str]], addresses: Mapping[str, str],
                   one_way: bool = False) -> dict[str, HostRules]:
    """Rules per host. Two-way: every host drops traffic from and to every host of other groups.
    One-way (2 groups): packets from group 0 to group 1 are dropped (group 0's output, group 1's
    input); group 1 can still send to group 0. Hosts in no group are untouched."""
    validate_groups(groups, list(addresses), one_way)
    plan: dict[str, HostRules] = {}
    for i, group in enumerate(groups):
        others = sorted({addresses[h] for j, g in enumerate(groups) if j != i for h in g})
        for host in group:
            if not one_way:
                plan[host] = HostRules(tuple(others), tuple(others))
            elif i == 0:
                plan[host] = HostRules((), tuple(sorted(addresses[h] for h in groups[1])))
            else:
                plan[host] = HostRules(tuple(sorted(addresses[h] for h in groups[0])), ())
    return plan


def probe_pairs(groups: Sequence[Sequence[str]], listeners: set[str], one_way: bool) -> list[tuple[str, str]]:
    """(source, destination) pairs whose connect must fail during the partition: for each ordered
    pair of groups that is cut, the first source with a listener (a node) on the other side."""
    pairs = []
    ordered = [(0, 1)] if one_way else [p for a, b in combinations(range(len(groups)), 2) for p in ((a, b), (b, a))]
    for a, b in ordered:
        dest = next((h for h in groups[b] if h in listeners), None)
        if dest is not None:
            pairs.append((groups[a][0], dest))
    return pairs


class NftFault(Fault):
    """A fault made of one nft table per affected host."""

    needs = frozenset({Capability.NETWORK_FAULTS})

    def _rules(self) -> dict[str, HostRules]:
        raise NotImplementedError

    def _host_script(self, table: str, rules: HostRules) -> str:
        return netfilter.ruleset(
            table,
            [f"ip saddr {netfilter.address_set(rules.drop_from)} counter drop"] if rules.drop_from else [],
            [f"ip daddr {netfilter.address_set(rules.drop_to)} counter drop"] if rules.drop_to else [],
        )

    @property
    def table(self) -> str:
        return netfilter.table_name(self.fault_id)

    def _apply(self) -> None:
        for name, rules in self._rules().items():
            host = resolve_host(self.cluster, name)
            self.note_artefact("nft", {"host": name, "table": self.table})
            netfilter.apply_table(host, self._host_script(self.table, rules))

    def _undo(self) -> None:
        errors = []
        for name in self._rules():
            try:
                netfilter.delete_table(resolve_host(self.cluster, name), self.table)
            except HarnessError as exc:
                errors.append(f"{name}: {exc}")
        if errors:
            raise HarnessError(f"could not remove nft table {self.table} from: {'; '.join(errors)}; "
                               f"`python -m harness cleanup` removes leftovers of dead runs")

    def _rules_gone(self) -> bool:
        return not any(netfilter.has_table(resolve_host(self.cluster, n), self.table) for n in self._rules())


class NetworkPartition(NftFault):
    """Hosts (nodes and clients, by name; zones expand to their nodes) in groups that cannot reach
    each other. `one_way=True` with two groups drops only packets from group 0 to group 1."""

    kind = "network-partition"

    def __init__(self, cluster: "Cluster", groups: Sequence[Sequence[str]], one_way: bool = False, **kw: Any) -> None:
        super().__init__(cluster, **kw)
        zones = set(cluster.zones)
        expanded = [[n for name in g for n in ([x.name for x in cluster.nodes_in_zone(name)] if name in zones else [name])]
                    for g in groups]
        self.groups = [list(dict.fromkeys(g)) for g in expanded]
        self.one_way = bool(one_way)
        self.addresses = {h.name: h.address for h in [*cluster.nodes, *cluster.clients]}
        self.plan = plan_partition(self.groups, self.addresses, self.one_way)  # validates
        self.raw_groups = [list(g) for g in groups]

    def params(self) -> dict[str, Any]:
        return {"groups": self.raw_groups, "one_way": self.one_way}

    def targets(self) -> tuple[str, ...]:
        return tuple("+".join(g) for g in self.groups)

    def _rules(self) -> dict[str, HostRules]:
        return self.plan

    def _pairs(self) -> list[tuple[str, str]]:
        return probe_pairs(self.groups, {n.name for n in self.cluster.nodes}, self.one_way)

    def _confirm_effect(self) -> dict[str, Any]:
        pairs = self._pairs()
        for source, dest in pairs:
            def cut() -> bool:
                return probe_connect(resolve_host(self.cluster, source), self.addresses[dest],
                                     timeout=PROBE_TIMEOUT_S).blocked
            self.wait(cut, f"a connect from {source} to {dest} to fail across the partition")
        return {"probes_blocked": [f"{s}->{d}" for s, d in pairs]}

    def _confirm_revert(self) -> None:
        self.wait(self._rules_gone, f"nft table {self.table} to be gone from every host")
        for source, dest in self._pairs():
            def open_() -> bool:
                return not probe_connect(resolve_host(self.cluster, source), self.addresses[dest],
                                         timeout=PROBE_TIMEOUT_S).blocked
            self.wait(open_, f"a connect from {source} to {dest} to succeed again")
        self.confirm_whole()


class IsolateNode(NetworkPartition):
    """One node (or every node of a zone) cut from every other node and client, both ways."""

    kind = "isolate-node"

    def __init__(self, cluster: "Cluster", node: str | None = None, zone: str | None = None, **kw: Any) -> None:
        if (node is None) == (zone is None):
            raise ConfigError("isolate exactly one of: node=NAME or zone=NAME")
        inside = [cluster.node(node).name] if node else [n.name for n in cluster.nodes_in_zone(zone)]  # type: ignore[arg-type]
        outside = [h.name for h in [*cluster.nodes, *cluster.clients] if h.name not in inside]
        if not outside:
            raise ConfigError(f"isolating {node or zone} leaves no host outside it; nothing to cut from")
        self.node, self.zone = node, zone
        super().__init__(cluster, [inside, outside], **kw)

    def params(self) -> dict[str, Any]:
        return {"node": self.node, "zone": self.zone}


class PacketLoss(NftFault):
    """A percentage of the packets the target hosts send (and, with both_ways, receive) dropped,
    chosen by nft `numgen random`."""

    kind = "packet-loss"

    def __init__(self, cluster: "Cluster", hosts: Sequence[str] = (), zones: Sequence[str] = (), percent: float = 10.0,
                 both_ways: bool = False, **kw: Any) -> None:
        super().__init__(cluster, **kw)
        if not isinstance(percent, (int, float)) or not 0 <= percent <= 100:
            raise ConfigError(f"packet loss percent must be within 0..100, got {percent!r}")
        names = [resolve_host(cluster, h).name for h in hosts]
        names += [n.name for z in zones for n in cluster.nodes_in_zone(z) if n.name not in names]
        if not names:
            raise ConfigError("packet loss needs target hosts or zones")
        self.hosts, self.zones, self.percent, self.both_ways = list(hosts), list(zones), float(percent), both_ways
        self.names = names

    def params(self) -> dict[str, Any]:
        return {"hosts": self.hosts, "zones": self.zones, "percent": self.percent, "both_ways": self.both_ways}

    def targets(self) -> tuple[str, ...]:
        return tuple(self.names)

    def _rules(self) -> dict[str, HostRules]:
        return {n: HostRules((), ()) for n in self.names}

    def _host_script(self, table: str, rules: HostRules) -> str:
        # numgen yields 0..9999, so fractional percents down to 0.01 are honoured.
        threshold = int(round(self.percent * 100))
        rule = f'oifname "eth0" numgen random mod 10000 < {threshold} counter drop'
        in_rule = f'iifname "eth0" numgen random mod 10000 < {threshold} counter drop'
        return netfilter.ruleset(table, [in_rule] if self.both_ways else [], [rule])

    def _confirm_effect(self) -> dict[str, Any]:
        # The rules are the effect; a loss measurement takes seconds and belongs to tests/benchmarks.
        missing = [n for n in self.names if not netfilter.has_table(resolve_host(self.cluster, n), self.table)]
        if missing:
            raise HarnessError(f"packet-loss table {self.table} missing on {', '.join(missing)} right after creation")
        return {"percent": self.percent}

    def _confirm_revert(self) -> None:
        self.wait(self._rules_gone, f"nft table {self.table} to be gone")
        self.confirm_whole()


def sweep_dead_tables(cluster: "Cluster", run_ids: str) -> list[str]:
    """Delete the nft tables crashed runs left on the cluster's nodes and clients; returns what was done.

    A fault's table is named after its id, <run id>_f<owner pid>_<n> (netfilter.table_name): `run_ids`
    (a regular expression) says whose runs count, and a table whose owner is no process on this
    machine is a crashed run's. A live run's tables are never touched. A host without nft holds none."""
    owned = re.compile(rf"^(?:{run_ids})_f(\d+)_\d+$")
    undone = []
    for host in [*cluster.nodes, *cluster.clients]:
        try:
            tables = netfilter.list_tables(host)
        except HarnessError:
            continue
        dead = [t for t in tables if (m := owned.match(t)) and process_start_time(int(m.group(1))) is None]
        for table in dead:
            netfilter.delete_table(host, table)
        if dead:
            undone.append(f"{len(dead)} nft table(s) on {host.name}")
    return undone
