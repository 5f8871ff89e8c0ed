"""Applying rendered manifests and waiting for them, through the typed API clients."""
from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Iterable, Mapping

from ...errors import HarnessError
from ...health import wait_peers_connected
from ...waiting import wait_for
from .client import KubeApi
from .discovery import NodeInfo, pods

if TYPE_CHECKING:
    from .cluster import K8sCluster

log = logging.getLogger("harness.k8s")
POOL_TIMEOUT_S = 30.0  # as the local provider waits for its pool


def _methods(api: KubeApi, kind: str) -> tuple[object, str, bool]:
    """(API object, method suffix, namespaced) for a manifest kind."""
    table = {
        "Namespace": (api.core, "namespace", False),
        "Service": (api.core, "namespaced_service", True),
        "Pod": (api.core, "namespaced_pod", True),
        "DaemonSet": (api.apps, "namespaced_daemon_set", True),
        "StatefulSet": (api.apps, "namespaced_stateful_set", True),
    }
    try:
        return table[kind]
    except KeyError:
        raise HarnessError(f"the harness cannot apply manifests of kind {kind}") from None


def apply(api: KubeApi, manifests: Iterable[Mapping]) -> None:
    """Create each object, or replace it when it exists (a reused cluster keeps its objects)."""
    from kubernetes.client.exceptions import ApiException

    for manifest in manifests:
        target, suffix, namespaced = _methods(api, manifest["kind"])
        name = manifest["metadata"]["name"]
        ns_args = [manifest["metadata"]["namespace"]] if namespaced else []
        try:
            getattr(target, f"create_{suffix}")(*ns_args, manifest)
            log.info("created %s %s", manifest["kind"], name)
        except ApiException as exc:
            if exc.status != 409:
                raise HarnessError(f"creating {manifest['kind']} {name} failed: {exc.status} {exc.reason}: "
                                   f"{(exc.body or '')[:300]}") from None
            if manifest["kind"] in ("Namespace", "PersistentVolumeClaim"):
                continue  # nothing to update that matters, and PVC specs are immutable
            getattr(target, f"replace_{suffix}")(name, *ns_args, manifest)
            log.info("replaced %s %s", manifest["kind"], name)


def wait_pods_ready(api: KubeApi, namespace: str, selector: str, nodes: Iterable[NodeInfo], timeout: float,
                    what: str) -> None:
    """Return once every node runs a Ready pod matching selector."""
    names = [n.name for n in nodes]

    def state() -> dict[str, str]:
        found = {n: "none" for n in names}
        for p in pods(api.core, namespace, selector):
            if p.node in found and not p.deleting:
                found[p.node] = "ready" if p.ready and p.phase == "Running" else p.phase.lower() or "pending"
        return found

    wait_for(lambda: all(v == "ready" for v in state().values()), timeout=timeout, what=what,
             describe=lambda: ", ".join(f"{k}={v}" for k, v in state().items()))


def wait_replicas_ready(api: KubeApi, namespace: str, selector: str, count: int, timeout: float, what: str) -> list:
    """Return the Ready pods once `count` of them match selector."""
    def ready() -> list:
        found = [p for p in pods(api.core, namespace, selector) if p.ready and p.phase == "Running" and not p.deleting]
        return found if len(found) >= count else []

    return wait_for(ready, timeout=timeout, what=what,
                    describe=lambda: f"{len([p for p in pods(api.core, namespace, selector) if p.ready])}/{count} ready")


def delete_namespace(api: KubeApi, namespace: str, timeout: float) -> None:
    """Delete a namespace and wait until it is gone. Idempotent."""
    from kubernetes.client.exceptions import ApiException

    try:
        api.core.delete_namespace(namespace)
    except ApiException as exc:
        if exc.status == 404:
            return
        raise HarnessError(f"deleting namespace {namespace} failed: {exc.status} {exc.reason}") from None

    def gone() -> bool:
        try:
            api.core.read_namespace(namespace)
        except ApiException as exc:
            return exc.status == 404
        return False

    wait_for(gone, timeout=timeout, what=f"namespace {namespace} to be deleted", interval=0.5)


def form_pool_by_name(cluster: "K8sCluster", timeout: float = POOL_TIMEOUT_S) -> None:
    """Probe every storage node from the first by its node name, which each glusterd pod resolves
    through the DaemonSet's host aliases: a peer keeps its name when its pod or address changes."""
    first = cluster.nodes[0]
    for node in cluster.nodes[1:]:
        first.gluster.peer_probe(node.name)
    wait_peers_connected(cluster, timeout)
