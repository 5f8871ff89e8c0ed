"""The existing provider: a cluster that already runs gluster, reached through a kubeconfig.

The harness discovers storage nodes (node label selector), their zones (zone label) and the gluster
pod on each (pod label selector in the gluster namespace). It never deploys, changes or deletes
the gluster stack; what it creates (client pods, test volumes) lives in its own namespace or
carries the run id, and goes at the end. Faults that disrupt the cluster are refused unless
--allow-destructive-faults is given.
"""
from __future__ import annotations

import logging
import secrets
from pathlib import Path
from typing import Callable

from ...errors import ConfigError
from . import manifests as m
from .client import KubeApi, connect
from .cluster import K8sCluster, K8sClusterOptions
from .discovery import check_selector, gluster_pods_by_node, storage_nodes
from ...health import wait_peers_connected
from ...faults.netfilter import table_name
from ...faults.network import sweep_dead_tables
from .options import K8sOptions
from .podexec import ExecRunner, PodExec
from .stack import apply, delete_namespace, wait_replicas_ready
from ..k8s_local.images import resolve

RUN_PREFIX = "glh-"
# The nft tables of any existing-provider run (glh-<6 hex digits>): runs share this cluster.
EXISTING_RUN_TABLES = table_name(RUN_PREFIX) + "[0-9a-f]{6}"

log = logging.getLogger("harness.existing")
POOL_CHECK_TIMEOUT_S = 30.0


class ExistingProvider:
    """Attaches to a running gluster-on-Kubernetes cluster; never deploys or deletes the stack."""

    def __init__(self, clients: int, options: K8sOptions, root: Path | None = None,
                 exec_runner: Callable[[KubeApi], ExecRunner] | None = None, run_id: str | None = None) -> None:
        self.clients, self.options = clients, options
        self.exec_runner = exec_runner or (lambda api: PodExec(api.core))
        self.run_id = run_id or f"{RUN_PREFIX}{secrets.token_hex(3)}"

    @property
    def client_namespace(self) -> str:
        return f"glusterharness-{self.run_id}"

    def up(self) -> K8sCluster:
        node_selector = check_selector(self.options.node_selector, "--gluster-node-selector")
        pod_selector = check_selector(self.options.pod_selector, "--gluster-pod-selector")
        if self.clients < 0:
            raise ConfigError(f"--gluster-clients must be >= 0, got {self.clients}")
        api = connect(self.options.kubeconfig, self.options.kube_context)
        where = f"kubeconfig {api.target.describe()}"
        try:
            nodes = storage_nodes(api.core, node_selector, self.options.zone_label, where)
            gluster_pods_by_node(api.core, self.options.gluster_namespace, pod_selector, nodes, where)
        except BaseException:
            api.close()
            raise
        options = K8sClusterOptions(
            namespace=self.options.gluster_namespace, gluster_pod_selector=pod_selector,
            brick_root=self.options.brick_root, client_namespace=self.client_namespace,
            client_selector=f"app.kubernetes.io/name={m.CLIENT_NAME},{m.RUN_LABEL}={self.run_id}",
            allow_destructive_faults=self.options.allow_destructive_faults, description=where,
        )
        owned: list[str] = []

        def down() -> None:
            for ns in owned:
                delete_namespace(api, ns, timeout=300)
            api.close()

        try:
            clients = self._deploy_clients(api, owned)
            cluster = K8sCluster(api, self.run_id, options, nodes, clients, self.exec_runner(api),
                                 node_runtime=None, on_down=down, on_keep=api.close)
            if self.options.allow_destructive_faults:  # tables a crashed run (with the option) left
                for note in sweep_dead_tables(cluster, EXISTING_RUN_TABLES):
                    log.warning("removed %s (left by an earlier run)", note)
            # The pool must be whole before any suite runs against it.
            wait_peers_connected(cluster, POOL_CHECK_TIMEOUT_S)
        except BaseException:
            down()
            raise
        log.info("attached to %s: %s", where, ", ".join(f"{n.name}@{n.address}/{n.zone}" for n in nodes))
        return cluster

    def _deploy_clients(self, api: KubeApi, owned: list[str]) -> list:
        """Client pods in the harness's own namespace (not the gluster one)."""
        if not self.clients:
            return []
        settings = m.StackSettings(run_id=self.run_id, namespace=self.client_namespace,
                                   gluster_image=resolve(self.options.gluster_image))
        owned.append(self.client_namespace)
        apply(api, [m.namespace(settings)] + m.client_statefulset(settings, self.clients))
        pods = wait_replicas_ready(api, self.client_namespace,
                                   f"app.kubernetes.io/name={m.CLIENT_NAME},{m.RUN_LABEL}={self.run_id}",
                                   self.clients, self.options.ready_timeout_s, f"{self.clients} client pods Ready")
        return sorted(pods, key=lambda p: p.name)
