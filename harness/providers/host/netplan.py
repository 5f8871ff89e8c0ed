"""Pure planning of a local cluster: names, zones and addresses (no side effects)."""
from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from ...errors import ConfigError

# RFC 2544 benchmarking range: never routed, so test traffic cannot leave the machine.
TEST_RANGE = ipaddress.ip_network("198.18.0.0/15")
MAX_CLUSTERS = TEST_RANGE.num_addresses // 256
NAMESPACE_PREFIX = "glh"
MAX_NODES = 80
MAX_CLIENTS = 50
NODE_HOST_OFFSET = 10
CLIENT_HOST_OFFSET = 100


@dataclass(frozen=True)
class HostPlan:
    name: str
    namespace: str
    address: str
    zone: str | None = None


@dataclass(frozen=True)
class ClusterPlan:
    index: int
    run_id: str
    switch_namespace: str
    subnet: str
    nodes: tuple[HostPlan, ...]
    clients: tuple[HostPlan, ...]

    @property
    def namespaces(self) -> list[str]:
        return [self.switch_namespace] + [h.namespace for h in self.nodes + self.clients]


def zone_names(count: int) -> list[str]:
    return [f"zone-{chr(ord('a') + i)}" for i in range(count)]


def validate_shape(nodes: int, zones: int, clients: int) -> None:
    if nodes < 1 or nodes > MAX_NODES:
        raise ConfigError(f"--gluster-nodes must be between 1 and {MAX_NODES}, got {nodes}")
    if zones < 1:
        raise ConfigError(f"--gluster-zones must be at least 1, got {zones}")
    if zones > nodes:
        raise ConfigError(
            f"--gluster-zones {zones} is more than --gluster-nodes {nodes}: every zone needs a node; "
            f"lower the zones or raise the nodes"
        )
    if clients < 0 or clients > MAX_CLIENTS:
        raise ConfigError(f"client hosts must be between 0 and {MAX_CLIENTS}, got {clients}")


def plan_cluster(index: int, nodes: int, zones: int, clients: int) -> ClusterPlan:
    """Cluster `index` gets the index-th /24 of 198.18.0.0/15; nodes round-robin over zones."""
    validate_shape(nodes, zones, clients)
    if not 0 <= index < MAX_CLUSTERS:
        raise ConfigError(f"cluster index {index} outside 0..{MAX_CLUSTERS - 1}")
    subnet = ipaddress.ip_network((int(TEST_RANGE.network_address) + index * 256, 24))
    run_id = f"{NAMESPACE_PREFIX}{index}"
    zone_list = zone_names(zones)

    def addr(offset: int) -> str:
        return str(subnet.network_address + offset)

    node_plans = tuple(
        HostPlan(f"node{i + 1}", f"{run_id}-node{i + 1}", addr(NODE_HOST_OFFSET + i + 1), zone_list[i % zones])
        for i in range(nodes)
    )
    client_plans = tuple(
        HostPlan(f"client{j + 1}", f"{run_id}-client{j + 1}", addr(CLIENT_HOST_OFFSET + j + 1)) for j in range(clients)
    )
    return ClusterPlan(index, run_id, f"{run_id}-sw", str(subnet), node_plans, client_plans)
