"""The bottom of the cluster contract: what runs commands and what a provider can do.

Layers that only run commands (the gluster CLI, mounts) type against Host here, so they need not
import the Cluster module, which itself imports them.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Iterable, Protocol, Sequence

from .errors import Unsupported
from .runner import CommandResult

DEFAULT_TIMEOUT_S = 60.0


class Capability:
    """What a provider can do; a test marked `requires(...)` is skipped, naming what its cluster lacks."""

    # A node's gluster processes as this host's /proc sees them: kill a brick, glusterd or the
    # self-heal daemon, crash or hang a whole node, restart it.
    PROCESS_FAULTS = "process-faults"
    # A node's gluster processes as the node itself sees them (node.run; in a pod, the pod's pids):
    # kill a brick by the pid `volume status` gives, wait for it to be reaped.
    NODE_PROCESSES = "node-processes"
    # A node's glusterd found, killed and started again inside the node while its bricks keep
    # running (server quorum, SQ1): in a pod only when glusterd is not the container's main process.
    GLUSTERD_CONTROL = "glusterd-control"
    PROCESS_STATS = "process-stats"  # memory and count of the nodes' gluster processes, from this host's /proc
    NETWORK_FAULTS = "network-faults"  # nft tables in the network of nodes and clients (partition, loss)
    PACKET_DELAY = "packet-delay"  # NFQUEUE plus the userspace delayer this host starts in a node's network
    HOST_FUSE = "host-fuse"  # mounts are visible to the test process itself
    CLIENT_WORKLOADS = "client-workloads"  # fio runs in client hosts (FUSE files, gfapi)
    LOOP_DEVICES = "loop-devices"  # loop block devices in client hosts over a file written through the mount
    # Swift's S3 gateway and locust run in client hosts (their image has them), and this process enters
    # a client's network to reach the gateway as that client (the S3 history clients).
    S3_GATEWAY = "s3-gateway"
    # chaostoolkit finds the cluster in this host's registry and attaches (local, k8s-local)
    CHAOS_TARGET = "chaos-target"
    GLUSTER_VERSIONS = "gluster-versions"  # nodes run chosen GlusterFS versions (mixed, upgraded)
    POD_FAULTS = "pod-faults"  # delete a gluster pod through the Kubernetes API
    # Stop/start and pause/unpause a whole node, kubelet and pods included, through the cluster's
    # node runtime (kind: node containers; k8s-local: the node's cgroup tree).
    NODE_CONTAINER_FAULTS = "node-container-faults"
    # Alternatives, any one of which crashes or freezes a whole node (in order of preference: faults
    # use the first their cluster has). A `requires` mark or a fault's needs may name such a tuple.
    WHOLE_NODE_FAULTS = (PROCESS_FAULTS, NODE_CONTAINER_FAULTS)
    # Any one of these restarts a node's gluster processes as a restarted pod does (this host's
    # signals and a new glusterd, or the pod deleted through the API and made again).
    POD_RESTARTS = (PROCESS_FAULTS, POD_FAULTS)


Need = str | tuple[str, ...]  # a capability, or alternatives of which one suffices


def _served(need: Need, available: frozenset[str]) -> bool:
    return need in available if isinstance(need, str) else any(c in available for c in need)


def _named(need: Need) -> str:
    return need if isinstance(need, str) else f"one of ({' or '.join(need)})"


def lacking(needed: Iterable[Need], available: frozenset[str], holder: str) -> str | None:
    """"needs X, which HOLDER lacks (it has: ...)" when `available` misses some of `needed`; else None."""
    missing = [_named(c) for c in needed if not _served(c, available)]
    if not missing:
        return None
    return f"needs {', '.join(missing)}, which {holder} lacks (it has: {', '.join(sorted(available)) or 'none'})"


def first_served(alternatives: Sequence[str], available: frozenset[str]) -> str | None:
    """The first of `alternatives` (in order of preference) that `available` has; None if none."""
    return next((c for c in alternatives if c in available), None)


class NodeRuntime(Protocol):
    """What holds a cluster's nodes (docker for kind's node containers, cgroups for k8s-local's nodes).
    A stopped node is crashed (no graceful shutdown); start boots it again."""

    def state(self, node: str) -> str:
        """running | paused | exited (docker's words; kind may say more)."""

    def stop(self, node: str) -> None: ...

    def start(self, node: str) -> None: ...

    def pause(self, node: str) -> None: ...

    def unpause(self, node: str) -> None: ...

    # What the runtime adds to its cluster's capabilities (NODE_CONTAINER_FAULTS at least).
    capabilities: frozenset[str]

    def run_in_network(self, node: str, argv: Sequence[str], timeout: float, pod_uid: str | None = None
                       ) -> CommandResult:
        """Run a program of this machine in the node's network namespace, or with pod_uid in that pod's
        on the node (Capability.PACKET_DELAY)."""

    def network_namespace(self, node: str, pod_uid: str) -> str:
        """The network namespace file (on this machine) of a pod on the node (Capability.S3_GATEWAY)."""


class Stream(Protocol):
    """A program left running in a host, spoken to a line at a time on its stdin and stdout."""

    def send(self, line: str) -> None:
        """Write one line (without its newline) to the program; StreamEnded once it has ended."""

    def receive(self, timeout: float) -> str | None:
        """Its next line of output without the newline; None when none came within timeout;
        StreamEnded when its output ended first."""

    def close(self) -> None:
        """End the program (stdin closed, then killed if it lingers) and the channel. Idempotent."""


class Host(ABC):
    """Something that runs commands: a storage node or a client host."""

    name: str

    @abstractmethod
    def run(
        self, argv: Sequence[str], *, timeout: float = DEFAULT_TIMEOUT_S, input: str | None = None, check: bool = True
    ) -> CommandResult:
        """Run argv inside this host; raise CommandError naming the host when check and it fails."""

    def open_stream(self, argv: Sequence[str]) -> Stream:
        """Start argv inside this host and keep it running, spoken to in lines (harness.mountfiles'
        client program)."""
        raise Unsupported(f"{self.name} ({type(self).__name__}) cannot keep a program running in it")

    def run_in_network(self, argv: Sequence[str], *, timeout: float = DEFAULT_TIMEOUT_S) -> CommandResult:
        """Run a program of this machine (its files, its Python) in this host's network namespace: the
        userspace delayer of a latency fault (Capability.PACKET_DELAY)."""
        raise Unsupported(f"{self.name} ({type(self).__name__}) cannot run this machine's programs in its network: "
                          f"that needs the {Capability.PACKET_DELAY} capability")

    def network_namespace(self) -> str:
        """A file of this machine naming this host's network namespace, which a thread of this process
        enters (setns) so its sockets open there: the in-process S3 and history clients."""
        raise Unsupported(f"{self.name} ({type(self).__name__}) has no network namespace this process can enter: "
                          f"in-process S3 clients need the {Capability.S3_GATEWAY} capability")
