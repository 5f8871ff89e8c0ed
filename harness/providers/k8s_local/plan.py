"""Where a k8s-local cluster lives: one /24 of 198.18.0.0/15, its control plane, storage nodes in zones
and client nodes, each a network namespace with its address and pod range. Pure: nothing here
touches the machine."""
from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from ...errors import ConfigError
from ..host.netplan import NAMESPACE_PREFIX, TEST_RANGE, zone_names

MAX_NODES = 8  # pod ranges are /28s in the upper half of the cluster's /24
CP_OFFSET, NODE_OFFSET = 10, 11
# The label of client nodes (the client StatefulSet's nodeSelector): a zone fault never takes the clients.
CLIENT_NODE_LABEL, CLIENT_NODE_ROLE = "glusterharness/role", "clients"


@dataclass(frozen=True)
class Host:
    name: str
    namespace: str
    address: str
    zone: str = ""
    pod_cidr: str = ""


@dataclass(frozen=True)
class Plan:
    index: int
    run_id: str
    subnet: str
    service_cidr: str
    control_plane: Host
    nodes: tuple[Host, ...]  # storage nodes, in zones
    clients: tuple[Host, ...] = ()  # nodes of their own for client pods: no zone, no storage label

    @property
    def switch(self) -> str:
        return f"{self.run_id}-sw"

    @property
    def kubelets(self) -> tuple[Host, ...]:
        """Every host that runs a kubelet: storage nodes and client nodes."""
        return self.nodes + self.clients

    def kubelet_host(self, name: str) -> Host:
        for host in self.kubelets:
            if host.name == name:
                return host
        raise ConfigError(f"k8s-local cluster {self.run_id} has no node {name!r}; "
                          f"nodes are {', '.join(h.name for h in self.kubelets)}")


def client_node_name(i: int) -> str:
    return "clients" if i == 0 else f"clients{i + 1}"


def plan(index: int, nodes: int, zones: int, client_nodes: int = 0) -> Plan:
    """Cluster `index` uses the index-th /24 of 198.18.0.0/15 (as the local provider would)."""
    if not 1 <= nodes <= MAX_NODES:
        raise ConfigError(f"k8s-local runs 1 to {MAX_NODES} nodes, got {nodes}")
    if not 1 <= zones <= nodes:
        raise ConfigError(f"k8s-local needs 1 to {nodes} zones for {nodes} nodes, got {zones}")
    if client_nodes < 0 or nodes + client_nodes > MAX_NODES:
        raise ConfigError(f"k8s-local runs at most {MAX_NODES} nodes in all; {nodes} storage nodes leave room for "
                          f"{MAX_NODES - nodes} client node(s), got {client_nodes}")
    net = ipaddress.ip_network((int(TEST_RANGE.network_address) + index * 256, 24))
    base = net.network_address
    run_id = f"{NAMESPACE_PREFIX}{index}"
    zone_list = zone_names(zones)
    hosts = tuple(Host(f"node{i + 1}", f"{run_id}-node{i + 1}", str(base + NODE_OFFSET + i), zone_list[i % zones],
                       f"{base + 128 + 16 * i}/28") for i in range(nodes))
    clients = tuple(Host(client_node_name(i), f"{run_id}-{client_node_name(i)}", str(base + NODE_OFFSET + j), "",
                         f"{base + 128 + 16 * j}/28") for i, j in enumerate(range(nodes, nodes + client_nodes)))
    return Plan(index, run_id, str(net), f"{base + 64}/26",
                Host("cp", f"{run_id}-cp", str(base + CP_OFFSET)), hosts, clients)
