"""Settings of the Kubernetes providers (kind, existing), as the plugin and CLI pass them."""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Callable

from ...cluster import ZONE_LABEL
from .manifests import DEFAULT_GLUSTER_IMAGE, STATE_DIR

DEFAULT_NODE_SELECTOR = "storagenode=glusterfs"  # the gluster-kubernetes convention
DEFAULT_POD_SELECTOR = "glusterfs=pod"
DEFAULT_NAMESPACE = "glusterfs"
DEFAULT_KIND_CLUSTER = "glusterharness"


@dataclass(frozen=True)
class K8sOptions:
    kind_binary: str | None = None  # None: `kind` on PATH
    kind_node_image: str | None = None  # None: kind's default node image
    kind_cluster_name: str = DEFAULT_KIND_CLUSTER
    kubeconfig: str | None = None  # None: $KUBECONFIG, then ~/.kube/config
    kube_context: str | None = None  # None: the kubeconfig's current context
    gluster_namespace: str = DEFAULT_NAMESPACE
    node_selector: str = DEFAULT_NODE_SELECTOR
    pod_selector: str = DEFAULT_POD_SELECTOR
    zone_label: str = ZONE_LABEL
    gluster_image: str = DEFAULT_GLUSTER_IMAGE
    brick_root: str = f"{STATE_DIR}/bricks"
    allow_destructive_faults: bool = False
    ready_timeout_s: float = 600.0  # image pulls on a first kind run take minutes

    def for_worker(self, worker: str | None) -> "K8sOptions":
        """The options of one pytest-xdist worker: its own kind cluster, never its neighbour's."""
        return replace(self, kind_cluster_name=f"{self.kind_cluster_name}-{worker}") if worker else self


# Command-line options of the Kubernetes providers, in the plugin's OPTIONS format:
# option name -> (environment variable, default, type, help).
K8S_OPTIONS: dict[str, tuple[str, object, type, str]] = {
    "kind_binary": ("GLUSTER_KIND_BINARY", None, str, "kind provider: the kind binary (default: kind on PATH)"),
    "kind_node_image": ("GLUSTER_KIND_NODE_IMAGE", None, str, "kind provider: node image (default: kind's own)"),
    "kind_cluster_name": ("GLUSTER_KIND_CLUSTER", DEFAULT_KIND_CLUSTER, str,
                          "kind provider: cluster name; an existing kind cluster of that name is reused"),
    "kubeconfig": ("GLUSTER_KUBECONFIG", None, str, "existing provider: kubeconfig (default: $KUBECONFIG, ~/.kube/config)"),
    "kube_context": ("GLUSTER_KUBE_CONTEXT", None, str, "existing provider: context (default: the current one)"),
    "gluster_namespace": ("GLUSTER_NAMESPACE", DEFAULT_NAMESPACE, str, "kind/existing: namespace of the gluster pods"),
    "gluster_node_selector": ("GLUSTER_NODE_SELECTOR", DEFAULT_NODE_SELECTOR, str,
                              "kind/existing: label selector of the storage nodes"),
    "gluster_pod_selector": ("GLUSTER_POD_SELECTOR", DEFAULT_POD_SELECTOR, str,
                             "kind/existing: label selector of the gluster server pods"),
    "gluster_zone_label": ("GLUSTER_ZONE_LABEL", ZONE_LABEL, str, "kind/existing: node label holding the zone"),
    "gluster_image": ("GLUSTER_IMAGE", DEFAULT_GLUSTER_IMAGE, str, "image of the gluster server and client pods: the "
                      "default and glusterharness/gluster:VERSION are `make k8s` builds, a .tar a docker-archive "
                      "(both loaded into kind and k8s-local); any other name is pulled"),
    "gluster_brick_root": ("GLUSTER_BRICK_ROOT", f"{STATE_DIR}/bricks", str,
                           "kind/existing: brick directory inside the gluster pods (a host path)"),
}


def k8s_options_from(get: Callable[[str], object], allow_destructive_faults: bool) -> K8sOptions:
    """Build K8sOptions from an option getter (the plugin's: command line, then env, then default)."""
    def text(name: str) -> str | None:
        value = get(name)
        return None if value in (None, "") else str(value)

    return K8sOptions(
        kind_binary=text("kind_binary"), kind_node_image=text("kind_node_image"),
        kind_cluster_name=text("kind_cluster_name") or DEFAULT_KIND_CLUSTER,
        kubeconfig=text("kubeconfig"), kube_context=text("kube_context"),
        gluster_namespace=text("gluster_namespace") or DEFAULT_NAMESPACE,
        node_selector=text("gluster_node_selector") or DEFAULT_NODE_SELECTOR,
        pod_selector=text("gluster_pod_selector") or DEFAULT_POD_SELECTOR,
        zone_label=text("gluster_zone_label") or ZONE_LABEL,
        gluster_image=text("gluster_image") or DEFAULT_GLUSTER_IMAGE,
        brick_root=text("gluster_brick_root") or f"{STATE_DIR}/bricks",
        allow_destructive_faults=allow_destructive_faults,
    )
