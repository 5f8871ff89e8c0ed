"""The kind provider: a kind cluster (1 control plane, N zoned workers) with gluster as pods.

Lifecycle: check input and prerequisites (nothing changes on bad input) -> create the kind
cluster from a generated config, or reuse one of the same name -> deploy the gluster stack
(namespace, glusterd DaemonSet, client StatefulSet) -> wait for every pod -> probe peers through
pod exec -> K8sCluster. At the end the kind cluster is deleted unless --keep-cluster.
The kind CLI and the container engine are driven through an injectable command runner.
"""
from __future__ import annotations

import logging
import re
import shutil
from dataclasses import replace
from pathlib import Path
from typing import Any, Callable

import yaml

from ...cluster import ZONE_LABEL
from ...errors import ConfigError, HarnessError, MissingPrerequisite
from ..host.netplan import validate_shape, zone_names
from ...runner import CommandResult, run
from . import manifests as m
from .client import KubeApi, connect
from .cluster import K8sCluster, K8sClusterOptions
from ...faults.pod import restore_node_containers
from ...faults.netfilter import table_name
from ...faults.network import sweep_dead_tables
from .discovery import check_selector, equality_labels, gluster_pods_by_node, storage_nodes
from .noderuntime import DockerNodeRuntime
from .options import K8sOptions
from .podexec import ExecRunner, PodExec
from .stack import apply, form_pool_by_name, wait_pods_ready, wait_replicas_ready
from ..k8s_local.images import local_archive

log = logging.getLogger("harness.kind")

Runner = Callable[..., CommandResult]
KIND_TIMEOUT_S = 900.0  # a first `kind create cluster` pulls the node image
KIND_API_VERSION = "kind.x-k8s.io/v1alpha4"
CLUSTER_NAME_RE = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


def kind_config(name: str, workers: int, zones: int, storage_labels: dict[str, str], state_root: Path,
                node_image: str | None = None, container_path: str = m.STATE_DIR) -> dict[str, Any]:
    """The kind cluster config (pure): a control plane and `workers` workers round-robin over zones.

    Each worker carries the zone label and the storage label, and mounts its own host directory at
    the stack's state dir, so bricks and glusterd state survive pod deletion and node restarts.
    """
    def node(role: str, extra: dict[str, Any]) -> dict[str, Any]:
        spec: dict[str, Any] = {"role": role, **extra}
        if node_image:
            spec["image"] = node_image
        return spec

    zone_list = zone_names(zones)
    nodes = [node("control-plane", {})]
    for i in range(workers):
        nodes.append(node("worker", {
            "labels": {ZONE_LABEL: zone_list[i % zones], **storage_labels},
            "extraMounts": [{"hostPath": str(state_root / f"worker{i + 1}"), "containerPath": container_path}],
        }))
    return {"kind": "Cluster", "apiVersion": KIND_API_VERSION, "name": name, "nodes": nodes}


class KindCli:
    """The kind commands the provider uses."""

    def __init__(self, binary: str, runner: Runner = run) -> None:
        self.binary, self.runner = binary, runner

    def _run(self, args: list[str], timeout: float = 120.0) -> CommandResult:
        return self.runner([self.binary, *args], timeout=timeout, check=True, where="kind")

    def clusters(self) -> list[str]:
        return [line.strip() for line in self._run(["get", "clusters"]).stdout.splitlines() if line.strip()]

    def create(self, name: str, config: Path, kubeconfig: Path, image: str | None) -> None:
        args = ["create", "cluster", "--name", name, "--config", str(config), "--kubeconfig", str(kubeconfig),
                "--wait", "300s"]
        if image:
            args += ["--image", image]
        self._run(args, timeout=KIND_TIMEOUT_S)

    def export_kubeconfig(self, name: str, kubeconfig: Path) -> None:
        self._run(["export", "kubeconfig", "--name", name, "--kubeconfig", str(kubeconfig)])

    def delete(self, name: str, kubeconfig: Path) -> None:
        self._run(["delete", "cluster", "--name", name, "--kubeconfig", str(kubeconfig)], timeout=300)

    def load_archive(self, name: str, archive: Path) -> None:
        """Put a docker-archive image on every node of the cluster: pods find it and never pull."""
        self._run(["load", "image-archive", str(archive), "--name", name], timeout=KIND_TIMEOUT_S)


def find_kind(binary: str | None) -> str:
    """The kind binary to use: the option (a path or a name on PATH), else `kind` on PATH."""
    wanted = binary or "kind"
    found = shutil.which(wanted)
    if not found:
        source = f"--kind-binary {binary}" if binary else "`kind` on PATH"
        raise MissingPrerequisite(
            f"kind binary not found ({source}); install kind (https://kind.sigs.k8s.io/docs/user/quick-start/) "
            f"or pass --kind-binary PATH (env GLUSTER_KIND_BINARY)"
        )
    return found


class KindProvider:
    """Builds a K8sCluster on a kind cluster. Injectable: the command runner, the exec runner."""

    def __init__(self, nodes: int, zones: int, clients: int, root: Path, options: K8sOptions,
                 runner: Runner = run, exec_runner: Callable[[KubeApi], ExecRunner] | None = None,
                 engine: str = "docker") -> None:
        self.nodes, self.zones, self.clients, self.root = nodes, zones, clients, Path(root)
        self.options, self.runner = options, runner
        self.exec_runner = exec_runner or (lambda api: PodExec(api.core))
        self.engine = engine

    @property
    def name(self) -> str:
        return self.options.kind_cluster_name

    @property
    def workdir(self) -> Path:
        return self.root / "kind" / self.name

    @property
    def kubeconfig(self) -> Path:
        return self.workdir / "kubeconfig"

    def check(self) -> tuple[KindCli, dict[str, str]]:
        """Validate every input and prerequisite; nothing on the machine changes here."""
        validate_shape(self.nodes, self.zones, self.clients)
        if not CLUSTER_NAME_RE.match(self.name) or len(self.name) > 40:
            raise ConfigError(f"kind cluster name {self.name!r} must be lower-case letters, digits and '-' "
                              f"(at most 40); pass another --kind-cluster-name")
        labels = equality_labels(self.options.node_selector, "--gluster-node-selector")
        check_selector(self.options.pod_selector, "--gluster-pod-selector")
        if not self.root.is_absolute():
            raise ConfigError(f"--gluster-root {self.root} must be an absolute path (kind mounts from it)")
        kind = KindCli(find_kind(self.options.kind_binary), self.runner)
        engine = self.runner([self.engine, "info", "--format", "{{.ServerVersion}}"], timeout=30, check=False)
        if not engine.ok:
            raise MissingPrerequisite(
                f"kind needs a running container engine, and `{self.engine} info` failed: "
                f"{(engine.stderr or engine.stdout).strip()[:300]}; start docker (or podman) first"
            )
        return kind, labels

    def up(self) -> K8sCluster:
        kind, labels = self.check()
        created = self.ensure_cluster(kind, labels)
        try:
            return self.build(kind, reused=not created)
        except BaseException:
            if created:
                self.delete(kind)
            raise

    def ensure_cluster(self, kind: KindCli, labels: dict[str, str]) -> bool:
        """Create the kind cluster, or reuse one of the same name; True when created now."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        if self.name in kind.clusters():
            log.info("reusing kind cluster %s", self.name)
            kind.export_kubeconfig(self.name, self.kubeconfig)
            return False
        state_root = self.workdir / "nodes"
        for i in range(self.nodes):
            (state_root / f"worker{i + 1}").mkdir(parents=True, exist_ok=True)
        config = kind_config(self.name, self.nodes, self.zones, labels, state_root, self.options.kind_node_image,
                             self.settings().state_dir)
        config_path = self.workdir / "kind-config.yaml"
        config_path.write_text(yaml.safe_dump(config, sort_keys=False))
        log.info("creating kind cluster %s (%d workers over %d zones)", self.name, self.nodes, self.zones)
        kind.create(self.name, config_path, self.kubeconfig, self.options.kind_node_image)
        return True

    def delete(self, kind: KindCli) -> None:
        kind.delete(self.name, self.kubeconfig)
        # Node state dirs were made by us; the nodes' root-owned files may resist a non-root user.
        shutil.rmtree(self.workdir, ignore_errors=True)

    def settings(self) -> m.StackSettings:
        return m.StackSettings(
            run_id=self.name, namespace=self.options.gluster_namespace, gluster_image=self.options.gluster_image,
            storage_selector=equality_labels(self.options.node_selector, "--gluster-node-selector"),
            gluster_pod_labels=equality_labels(self.options.pod_selector, "--gluster-pod-selector"),
            state_dir=str(Path(self.options.brick_root).parent),
        )

    def build(self, kind: KindCli, reused: bool = False) -> K8sCluster:
        api = connect(self.kubeconfig, f"kind-{self.name}")
        where = f"kind cluster {self.name}"
        nodes = storage_nodes(api.core, self.options.node_selector, self.options.zone_label, where)
        if len(nodes) != self.nodes:
            raise HarnessError(
                f"{where} has {len(nodes)} storage node(s), {self.nodes} wanted; it was made with another "
                f"--gluster-nodes: delete it (kind delete cluster --name {self.name}) or use that count"
            )
        image = self.options.gluster_image
        if found := local_archive(image):  # the image `make k8s` built, or one's own archive: no registry
            image, archive = found
            kind.load_archive(self.name, archive)
        settings = replace(self.settings(), host_aliases={n.name: n.address for n in nodes}, gluster_image=image)
        apply(api, m.stack(settings))
        if self.clients:
            apply(api, m.client_statefulset(settings, self.clients))
        runtime = DockerNodeRuntime(self.engine, self.runner)
        if reused:  # a crashed run may have left node containers stopped or paused
            for note in restore_node_containers(runtime, [n.name for n in nodes]):
                log.warning("%s: restored (left by an earlier run)", note)
        wait_pods_ready(api, settings.namespace, self.options.pod_selector, nodes, self.options.ready_timeout_s,
                        f"a Ready gluster pod on every storage node of {where}")
        gluster_pods_by_node(api.core, settings.namespace, self.options.pod_selector, nodes, where)
        client_selector = f"app.kubernetes.io/name={m.CLIENT_NAME},{m.RUN_LABEL}={settings.run_id}"
        clients = wait_replicas_ready(api, settings.namespace, client_selector, self.clients,
                                      self.options.ready_timeout_s, f"{self.clients} client pods Ready") \
            if self.clients else []
        options = K8sClusterOptions(
            namespace=settings.namespace, gluster_pod_selector=self.options.pod_selector,
            brick_root=settings.brick_root, client_namespace=settings.namespace, client_selector=client_selector,
            allow_destructive_faults=True,  # the cluster is the harness's own
            description=where, glusterd_restartable=True,
        )
        cluster = K8sCluster(api, self.name, options, nodes, sorted(clients, key=lambda p: p.name),
                             self.exec_runner(api), node_runtime=runtime,
                             on_down=lambda: (api.close(), self.delete(kind)), on_keep=api.close)
        if reused:
            for note in sweep_dead_tables(cluster, re.escape(table_name(self.name))):
                log.warning("removed %s (left by an earlier run)", note)
        form_pool_by_name(cluster)
        log.info("kind cluster %s up: %s", self.name, ", ".join(f"{n.name}@{n.address}/{n.zone}" for n in nodes))
        return cluster
