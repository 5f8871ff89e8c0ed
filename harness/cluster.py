"""The Cluster interface suites talk to, whatever provider built it."""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Collection, Sequence

from .control import DEFAULT_TIMEOUT_S, Capability, Host, NodeRuntime, first_served, lacking  # noqa: F401 (providers take them from here)
from .errors import ConfigError, Unsupported
from .gluster import GlusterCLI

if TYPE_CHECKING:
    from .mount import V, FuseMount
    from .timeline import Timeline

ZONE_LABEL = "topology.kubernetes.io/zone"
HOSTNAME_LABEL = "kubernetes.io/hostname"


@dataclass(eq=False)
class Node(Host, ABC):
    """A storage node: one gluster server pod with its labels."""

    name: str
    zone: str
    address: str
    brick_root: str
    labels: dict[str, str] = field(default_factory=dict)

    @property
    def gluster(self) -> GlusterCLI:
        return GlusterCLI(self)

    def brick_path(self, volume: str, index: int) -> str:
        return f"{self.brick_root}/{volume}-b{index}"

    # The node-process part of the contract (Capability.PROCESS_FAULTS): providers that see a
    # node's processes from this host implement it; on the others these refuse, naming why.
    def pids(self) -> list[int]:
        """Pids (as this host sees them) of every gluster process of the node."""
        raise self._unsupported("list its processes", Capability.PROCESS_FAULTS)

    # Capability.GLUSTERD_CONTROL: glusterd as the node itself sees it (in a pod, the pod's pid).
    def glusterd_pid(self) -> int | None:
        """The node's pid of its running glusterd; None when it is not running."""
        raise self._unsupported("find its glusterd", Capability.GLUSTERD_CONTROL)

    def start_glusterd(self) -> None:
        """Start the node's glusterd and return once it answers (GlusterdStartFailed if it cannot)."""
        raise self._unsupported("start its glusterd", Capability.GLUSTERD_CONTROL)

    def log_tails(self, max_bytes: int) -> dict[str, bytes]:
        """The last max_bytes of every non-empty gluster log of the node, by path under its log folder
        (glusterd.log, bricks/<brick>.log, glustershd.log): what a failed test keeps."""
        raise Unsupported(f"node {self.name} ({type(self).__name__}) cannot read its gluster logs")

    # Capability.GLUSTER_VERSIONS
    @property
    def version(self) -> str:
        """The GlusterFS version the node runs."""
        raise self._unsupported("tell its GlusterFS version", Capability.GLUSTER_VERSIONS)

    def set_version(self, version: str) -> None:
        """Swap the node's GlusterFS to `version` while its gluster processes are stopped."""
        raise self._unsupported("change its GlusterFS version", Capability.GLUSTER_VERSIONS)

    def _unsupported(self, action: str, capability: str) -> Unsupported:
        return Unsupported(f"node {self.name} ({type(self).__name__}) cannot {action}: that needs the "
                           f"{capability} capability, which this provider lacks")


@dataclass(eq=False)
class ClientHost(Host, ABC):
    """A host that mounts volumes and runs workloads."""

    name: str
    address: str


class Cluster(ABC):
    """Nodes with zones, client hosts, and the volumes and mounts made on them."""

    run_id: str
    # Sequences: a provider's cluster holds its own kind of node and client (LocalNode, K8sNode).
    nodes: Sequence[Node]
    clients: Sequence[ClientHost]
    capabilities: frozenset[str]
    mounts: "list[FuseMount]"  # every mount made through this cluster and not yet unmounted
    root: Path | None = None  # the run's local folder (fault state files live there), where it has one
    fault_timeline: "Timeline | None" = None  # where faults record by default (the plugin sets the session's)
    # Names of the volumes made here start with it: where runs share one gluster pool (kind, an
    # existing cluster; xdist workers) no two create the same volume.
    volume_prefix: str = ""
    node_runtime: NodeRuntime | None = None  # stops and freezes whole nodes (Capability.NODE_CONTAINER_FAULTS)

    def require(self, *needed: str, what: str) -> None:
        """Refuse `what` (Unsupported, before anything changes) when this cluster lacks a capability."""
        reason = lacking(needed, self.capabilities, f"this {type(self).__name__}")
        if reason:
            raise Unsupported(f"{what} {reason}")

    def require_one_of(self, *alternatives: str, what: str) -> str:
        """The first of `alternatives` this cluster has (how `what` will be done); Unsupported, before
        anything changes, when it has none of them."""
        found = first_served(alternatives, self.capabilities)
        if found is None:
            raise Unsupported(f"{what} needs one of {', '.join(alternatives)}, which this {type(self).__name__} "
                              f"lacks (it has: {', '.join(sorted(self.capabilities)) or 'none'})")
        return found

    def mounts_of(self, volume: "V") -> "list[FuseMount[V]]":
        """The FUSE mounts of `volume` the harness made on this cluster's clients, found on the clients
        themselves (so also those another process made: the chaos target attaches to them)."""
        raise Unsupported(f"a {type(self).__name__} cannot find the mounts on its clients "
                          f"({Capability.CHAOS_TARGET})")

    def wait_node_ready(self, node: str, timeout: float) -> None:
        """Return once a node the node runtime restarted or thawed serves again (Kubernetes: node Ready,
        its gluster pod Ready, glusterd answering)."""
        raise Unsupported(f"a {type(self).__name__} has no node runtime to wait for "
                          f"({Capability.NODE_CONTAINER_FAULTS})")

    def require_destructive(self, what: str) -> None:
        """Refuse `what` (a fault about to be injected) unless destructive faults are allowed here:
        always on a cluster the harness made; a user's existing cluster says otherwise."""

    def keep(self) -> None:
        """Leave the cluster running after the session (--keep-cluster)."""
        raise Unsupported(f"a {type(self).__name__} cannot be kept after the session")

    def node(self, name: str) -> Node:
        for n in self.nodes:
            if n.name == name:
                return n
        raise ConfigError(f"no node named {name!r}; nodes are {', '.join(n.name for n in self.nodes)}")

    def client(self, name: str) -> ClientHost:
        for c in self.clients:
            if c.name == name:
                return c
        raise ConfigError(f"no client host named {name!r}; clients are {', '.join(c.name for c in self.clients)}")

    @property
    def zones(self) -> list[str]:
        return sorted({n.zone for n in self.nodes})

    def nodes_in_zone(self, zone: str) -> list[Node]:
        found = [n for n in self.nodes if n.zone == zone]
        if not found:
            raise ConfigError(f"no node in zone {zone!r}; zones are {', '.join(self.zones)}")
        return found

    def node_by_address(self, address: str) -> Node:
        for n in self.nodes:
            if n.address == address:
                return n
        raise ConfigError(f"no node has address {address!r}")

    @property
    def gluster(self) -> GlusterCLI:
        """The CLI of the first node whose glusterd answers (any node sees the whole pool)."""
        return self.nodes[0].gluster

    def gluster_from(self, exclude: Sequence[Node] = ()) -> GlusterCLI:
        """The CLI of a node outside `exclude`, for use while some nodes are faulted."""
        for n in self.nodes:
            if n not in exclude:
                return n.gluster
        raise ConfigError("every node is excluded; no node left to run the gluster CLI on")

    @abstractmethod
    def mount(self, volume: "V", client: ClientHost | None = None,
              leave_out: Collection[int] = ()) -> "FuseMount[V]":
        """Mount volume over FUSE from a client host; returns once every replica child is up.

        The client never connects to the bricks whose indices are in `leave_out` (their children
        stay down): reads then come from the other bricks only."""

    @abstractmethod
    def unmount(self, mount: "FuseMount") -> None:
        """Unmount one of this cluster's mounts and forget it; idempotent."""

    @abstractmethod
    def down(self) -> None:
        """Tear everything down; idempotent."""

    def describe(self) -> dict:
        return {
            "run_id": self.run_id,
            "nodes": [{"name": n.name, "zone": n.zone, "address": n.address, "labels": n.labels} for n in self.nodes],
            "clients": [{"name": c.name, "address": c.address} for c in self.clients],
            "capabilities": sorted(self.capabilities),
        }
