"""Providers build a Cluster: `local` (embedded), `kind` and `existing` (Kubernetes)."""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Callable, Protocol

from ..cluster import Cluster
from ..errors import ConfigError

if TYPE_CHECKING:
    from .k8s.options import K8sOptions
    from .host.registry import Entry

PROVIDERS = ("local", "kind", "existing", "k8s-local")


class Provider(Protocol):
    def up(self) -> Cluster:
        """Build (or attach to) a cluster and return it ready: peers connected."""


def make_provider(name: str, *, nodes: int, zones: int, clients: int, root: Path,
                  k8s: "K8sOptions | None" = None, versions: str | None = None) -> Provider:
    """The provider `name`; `k8s` carries the kind/existing options (defaults when None); `versions`
    the GlusterFS version per node (local provider only)."""
    if name == "local":
        from .local import LocalProvider

        return LocalProvider(nodes=nodes, zones=zones, clients=clients, root=root, versions=versions)
    if versions:
        raise ConfigError(f"--gluster-version is for the local provider; the {name} provider runs the "
                          f"version of its images")
    if name in ("kind", "existing", "k8s-local"):
        from .k8s.options import K8sOptions

        options = k8s or K8sOptions()
        if name == "k8s-local":
            from .k8s_local.gluster import K8sLocalGlusterProvider

            return K8sLocalGlusterProvider(nodes=nodes, zones=zones, clients=clients, root=root, options=options)
        if name == "kind":
            from .k8s.kind import KindProvider

            return KindProvider(nodes=nodes, zones=zones, clients=clients, root=root, options=options)
        from .k8s.existing import ExistingProvider

        return ExistingProvider(clients=clients, options=options, root=root)
    raise ConfigError(f"unknown provider {name!r}; choose one of {', '.join(PROVIDERS)}")


def provider_capabilities(name: str) -> frozenset[str]:
    """What a cluster of provider `name` can do at most, known without starting one (a cluster's own
    `capabilities` may be fewer: kind without a node runtime cannot stop node containers)."""
    if name == "local":
        from .local import LocalCluster

        return LocalCluster.capabilities
    from ..control import Capability
    from .k8s.cluster import K8S_CAPABILITIES

    if name in ("kind", "k8s-local"):  # node containers (kind) or node cgroups (k8s-local) stop and freeze;
        # the harness deployed the gluster pods, so their glusterd may be killed and started again
        # k8s-local is in this host's registry, where chaostoolkit finds its cluster, and its nodes'
        # networks are this host's namespaces, where the packet delayer runs; its client pods are
        # privileged on this machine's kernel, with its loop devices, and run the images `make k8s`
        # builds (Swift and locust in them), their networks this host's namespaces
        return (K8S_CAPABILITIES | {Capability.NODE_CONTAINER_FAULTS, Capability.GLUSTERD_CONTROL}
                | ({Capability.CHAOS_TARGET, Capability.PACKET_DELAY, Capability.LOOP_DEVICES, Capability.S3_GATEWAY}
                   if name == "k8s-local" else set()))
    if name == "existing":
        return K8S_CAPABILITIES
    raise ConfigError(f"unknown provider {name!r}; choose one of {', '.join(PROVIDERS)}")


def attach_registered(entry: "Entry") -> tuple[tuple, Callable[[], Cluster]]:
    """What identifies the cluster of this host's registry entry (its node holders' pids: a new cluster
    under a reused run id has others), read cheaply from its run folder, and how to attach to it
    from another process (the local provider's, or k8s-local's gluster stack through the API)."""
    from .k8s_local.cluster import K8sLocalCluster, is_k8s_local
    from .local import LocalCluster

    if is_k8s_local(entry):
        from .k8s_local.gluster import attach

        kube = K8sLocalCluster.attach(entry)
        return (entry.run_id, tuple(sorted(kube.holders.values()))), lambda: attach(kube)
    local = LocalCluster.attach(entry)
    return (entry.run_id, tuple(n.holder_pid for n in local.nodes)), lambda: local
