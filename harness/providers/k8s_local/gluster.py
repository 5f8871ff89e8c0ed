"""`--gluster-provider k8s-local`: the gluster stack through the Kubernetes API of a k8s-local cluster.

The same manifests a kind or cloud cluster gets (harness.providers.k8s.manifests), with the image `make k8s`
built and every node imported (no registry: pods find it present and never pull). Peers are probed
by node name, which every glusterd pod resolves through the DaemonSet's host aliases.
"""
from __future__ import annotations

import json
import logging
from dataclasses import asdict
from pathlib import Path

from ...errors import ConfigError
from ..k8s import manifests as m
from ..k8s.client import connect
from ..k8s.cluster import K8sCluster, K8sClusterOptions
from ..k8s.discovery import equality_labels, gluster_pods_by_node, pods, storage_nodes
from ..k8s.options import K8sOptions
from ..k8s.podexec import PodExec
from ..k8s.stack import apply, form_pool_by_name, wait_pods_ready, wait_replicas_ready
from . import build as k8s_build
from .cluster import K8sLocalCluster, K8sLocalProvider
from .images import local_archive
from .plan import CLIENT_NODE_LABEL, CLIENT_NODE_ROLE
from .noderuntime import K8sLocalNodeRuntime

log = logging.getLogger("harness.k8s_local")

READY_TIMEOUT_S = 180.0
STACK_STATE = "gluster.json"  # in the run folder: how attach() finds the stack deploy() made


class K8sLocalGlusterProvider:
    def __init__(self, nodes: int, zones: int, clients: int, root: Path, options: K8sOptions) -> None:
        self.nodes, self.zones, self.clients, self.root, self.options = nodes, zones, clients, root, options

    def up(self) -> K8sCluster:
        found = local_archive(self.options.gluster_image)
        if found is None:
            raise ConfigError(f"--gluster-image {self.options.gluster_image!r}: k8s-local has no registry; give one "
                              f"of the build's images ({k8s_build.IMAGE_REPO}:VERSION) or the path of a "
                              f"docker-archive .tar (docker save)")
        tag, archive = found
        labels = equality_labels(self.options.node_selector, "--gluster-node-selector")
        # Clients get a node of their own: a crashed node or zone never takes a client with it.
        kube = K8sLocalProvider(self.nodes, self.zones, self.root, images=(archive,), node_labels=labels,
                                client_nodes=1 if self.clients else 0).up()
        try:
            return self.deploy(kube, tag)
        except BaseException:
            kube.down()
            raise

    def deploy(self, kube: K8sLocalCluster, image: str) -> K8sCluster:
        api = connect(kube.kubeconfig, None)
        settings = m.StackSettings(
            run_id=kube.run_id, namespace=self.options.gluster_namespace, gluster_image=image,
            storage_selector=equality_labels(self.options.node_selector, "--gluster-node-selector"),
            gluster_pod_labels=equality_labels(self.options.pod_selector, "--gluster-pod-selector"),
            host_aliases={n.name: n.address for n in kube.plan.nodes},
            client_node_selector={CLIENT_NODE_LABEL: CLIENT_NODE_ROLE} if kube.plan.clients else {})
        apply(api, m.stack(settings))
        if self.clients:
            apply(api, m.client_statefulset(settings, self.clients))
        where = f"k8s-local cluster {kube.run_id}"
        nodes = storage_nodes(api.core, self.options.node_selector, self.options.zone_label, where)
        wait_pods_ready(api, settings.namespace, self.options.pod_selector, nodes, READY_TIMEOUT_S,
                        f"a Ready gluster pod on every node of {where}")
        gluster_pods_by_node(api.core, settings.namespace, self.options.pod_selector, nodes, where)
        client_selector = f"app.kubernetes.io/name={m.CLIENT_NAME},{m.RUN_LABEL}={settings.run_id}"
        clients = wait_replicas_ready(api, settings.namespace, client_selector, self.clients, READY_TIMEOUT_S,
                                      f"{self.clients} client pods Ready") if self.clients else []
        options = K8sClusterOptions(
            namespace=settings.namespace, gluster_pod_selector=self.options.pod_selector,
            brick_root=settings.brick_root, client_namespace=settings.namespace, client_selector=client_selector,
            allow_destructive_faults=True, description=where, glusterd_restartable=True, registered=True,
            loop_devices=True, s3_gateway=True)
        (kube.root / STACK_STATE).write_text(json.dumps(
            {"cluster": asdict(options), "node_selector": self.options.node_selector,
             "zone_label": self.options.zone_label}, indent=2))
        cluster = K8sCluster(api, kube.run_id, options, nodes, sorted(clients, key=lambda p: p.name), PodExec(api.core),
                             node_runtime=K8sLocalNodeRuntime(kube),
                             on_down=lambda: (api.close(), kube.down()), on_keep=lambda: (api.close(), kube.keep()),
                             root=kube.root)
        form_pool_by_name(cluster)
        log.info("%s: gluster up on %s", where, ", ".join(f"{n.name}@{n.address}/{n.zone}" for n in cluster.nodes))
        return cluster


def attach(kube: K8sLocalCluster) -> K8sCluster:
    """The gluster stack deploy() made on `kube`, from its state in the run folder: for another process
    (a chaostoolkit run) to act on. Its down() only closes the API connection; the cluster stays."""
    path = kube.root / STACK_STATE
    try:
        state = json.loads(path.read_text())
    except FileNotFoundError:
        raise ConfigError(f"k8s-local cluster {kube.run_id} runs no gluster stack (no {path}); start one with "
                          f"`python -m harness up --provider k8s-local`, which deploys it") from None
    options = K8sClusterOptions(**state["cluster"])
    api = connect(kube.kubeconfig, None)
    try:
        nodes = storage_nodes(api.core, state["node_selector"], state["zone_label"], options.description)
        clients = [p for p in pods(api.core, options.client_namespace, options.client_selector)
                   if p.phase == "Running" and not p.deleting]
    except BaseException:
        api.close()
        raise
    return K8sCluster(api, kube.run_id, options, nodes, sorted(clients, key=lambda p: p.name), PodExec(api.core),
                      node_runtime=K8sLocalNodeRuntime(kube), on_down=api.close, on_keep=api.close, root=kube.root)
