"""The gluster stack as Kubernetes manifests, built as plain dicts per run.

Python-built dicts rather than templates: every field is computed from typed settings, so a run
cannot render a half-substituted YAML, and every manifest is validated in the tests against the
OpenAPI schemas of three Kubernetes minor versions (see harness.providers.k8s.validate).

Volumes reach pods through the FUSE client in the harness's client pods, as on the local provider.
No PersistentVolume or StorageClass is made: the in-tree glusterfs plugin left Kubernetes in 1.26,
and kadalu's static "External" PVs, the one CSI path that mounted an existing volume, are no
longer supported upstream.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

from ....cluster import ZONE_LABEL

Manifest = dict[str, Any]

PART_OF = "glusterharness"
RUN_LABEL = "glusterharness/run"
GLUSTERD_PORT = 24007
# The image `make k8s` builds for the installed GlusterFS (Debian 12: glusterd, the FUSE client,
# python3, nft); the providers spell out its tag (harness.providers.k8s_local.images).
DEFAULT_GLUSTER_IMAGE = "glusterharness/gluster"
STATE_DIR = "/var/lib/glusterharness"  # on the node (a kind extraMount) and at the same path in pods
GLUSTERD_PID_FILE = "/run/glusterd.pid"
# How the harness starts glusterd in its pod: daemonized, by the container's entrypoint and again by
# a fault's revert (K8sNode.start_glusterd); its standard streams closed, so a pod exec returns.
GLUSTERD_START = ("glusterd", "--log-level=INFO", f"--pid-file={GLUSTERD_PID_FILE}")
# glusterd is not the container's main process: one killed (server quorum, SQ1) leaves the container
# and its bricks running, as a killed glusterd leaves its node. The shell passes TERM on to it.
GLUSTERD_ENTRYPOINT = (
    f"{' '.join(GLUSTERD_START)} </dev/null >/dev/null 2>&1 || exit 1; "
    f"trap 'kill -TERM \"$(cat {GLUSTERD_PID_FILE})\" 2>/dev/null; exit 0' TERM INT; "
    "while :; do sleep 3600 & wait $!; done"
)


@dataclass(frozen=True)
class StackSettings:
    """What a run's gluster stack looks like; every manifest is a function of these."""

    run_id: str
    namespace: str = "glusterfs"
    gluster_image: str = DEFAULT_GLUSTER_IMAGE
    storage_selector: Mapping[str, str] = field(default_factory=lambda: {"storagenode": "glusterfs"})
    gluster_pod_labels: Mapping[str, str] = field(default_factory=lambda: {"glusterfs": "pod"})
    state_dir: str = STATE_DIR
    # name -> address in every glusterd pod's /etc/hosts: peers probed by node name resolve without DNS
    host_aliases: Mapping[str, str] = field(default_factory=dict)
    # Labels of the nodes client pods must run on (k8s-local: a node of their own, so no node or zone
    # fault takes a client with it); empty: wherever the scheduler puts them (kind, existing).
    client_node_selector: Mapping[str, str] = field(default_factory=dict)

    @property
    def brick_root(self) -> str:
        return f"{self.state_dir}/bricks"

    @property
    def labels(self) -> dict[str, str]:
        return {"app.kubernetes.io/part-of": PART_OF, RUN_LABEL: self.run_id}


def _meta(name: str, settings: StackSettings, namespace: bool = True, extra: Mapping[str, str] | None = None) -> dict:
    meta: dict[str, Any] = {"name": name, "labels": {**settings.labels, **(extra or {})}}
    if namespace:
        meta["namespace"] = settings.namespace
    return meta


def _host_path(name: str, path: str, kind: str = "DirectoryOrCreate") -> dict:
    return {"name": name, "hostPath": {"path": path, "type": kind}}


# Pod Security admission (Kubernetes >= 1.23 enforces it): glusterd and FUSE clients are privileged pods
# with host networking and host paths, which only the "privileged" level admits.
POD_SECURITY = {f"pod-security.kubernetes.io/{mode}": "privileged" for mode in ("enforce", "audit", "warn")}


def namespace(settings: StackSettings, name: str | None = None) -> Manifest:
    return {"apiVersion": "v1", "kind": "Namespace",
            "metadata": _meta(name or settings.namespace, settings, False, extra=POD_SECURITY)}


def glusterd_daemonset(settings: StackSettings) -> Manifest:
    """glusterd on every labelled storage node: host network, privileged, bricks on a host path.

    Host networking gives each glusterd the node's address (peers and bricks are named by it, as in
    gluster-kubernetes); privileged is needed for the xattrs bricks use and for iptables faults.
    The container's main process is a shell that starts glusterd (GLUSTERD_ENTRYPOINT), so glusterd
    can be killed and started inside its pod; the liveness probe restarts a container whose glusterd
    stays down for a minute. State lives on the node, so a deleted pod comes back as the same peer.
    """
    labels = {**settings.labels, **settings.gluster_pod_labels, "app.kubernetes.io/name": "glusterd"}
    probe = {"tcpSocket": {"port": GLUSTERD_PORT}, "periodSeconds": 10, "timeoutSeconds": 3}
    return {
        "apiVersion": "apps/v1",
        "kind": "DaemonSet",
        "metadata": _meta("glusterd", settings, extra={"app.kubernetes.io/name": "glusterd"}),
        "spec": {
            "selector": {"matchLabels": dict(settings.gluster_pod_labels)},
            "updateStrategy": {"type": "OnDelete"},  # upgrades are the user's rolling restart, not ours
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "hostNetwork": True,
                    # The pause container as PID 1 reaps what glusterd leaves: a killed brick daemon is
                    # an orphan, and under glusterd as PID 1 it stays a zombie whose pid file makes
                    # glusterd refuse to start the brick again ("discovered already-running").
                    "shareProcessNamespace": True,
                    "dnsPolicy": "ClusterFirstWithHostNet",
                    **({"hostAliases": [{"ip": ip, "hostnames": [name]} for name, ip in settings.host_aliases.items()]}
                       if settings.host_aliases else {}),
                    "nodeSelector": dict(settings.storage_selector),
                    "terminationGracePeriodSeconds": 10,
                    "containers": [{
                        "name": "glusterd",
                        "image": settings.gluster_image,
                        "command": ["sh", "-c", GLUSTERD_ENTRYPOINT],
                        "securityContext": {"privileged": True},
                        "ports": [{"name": "glusterd", "containerPort": GLUSTERD_PORT, "protocol": "TCP"}],
                        # 60 s: longer than any fault that keeps glusterd down on purpose.
                        "livenessProbe": {**probe, "initialDelaySeconds": 15, "failureThreshold": 6},
                        "readinessProbe": {**probe, "initialDelaySeconds": 2, "failureThreshold": 3},
                        "volumeMounts": [
                            {"name": "glusterd-state", "mountPath": "/var/lib/glusterd"},
                            {"name": "glusterd-log", "mountPath": "/var/log/glusterfs"},
                            {"name": "bricks", "mountPath": settings.brick_root},
                            {"name": "run", "mountPath": "/run"},
                        ],
                    }],
                    "volumes": [
                        _host_path("glusterd-state", f"{settings.state_dir}/glusterd"),
                        _host_path("glusterd-log", f"{settings.state_dir}/log"),
                        _host_path("bricks", settings.brick_root),
                        {"name": "run", "emptyDir": {"medium": "Memory"}},
                    ],
                },
            },
        },
    }


CLIENT_NAME = "gluster-client"
CLIENT_MOUNT_ROOT = "/mnt/glusterharness"


def client_statefulset(settings: StackSettings, replicas: int, namespace_name: str | None = None) -> list[Manifest]:
    """Client hosts as a StatefulSet (stable names gluster-client-0..N-1) plus its headless Service.

    Privileged with /dev/fuse so the FUSE client can mount; spread over zones where possible.
    """
    ns = namespace_name or settings.namespace
    labels = {**settings.labels, "app.kubernetes.io/name": CLIENT_NAME}
    meta = {**_meta(CLIENT_NAME, settings, extra={"app.kubernetes.io/name": CLIENT_NAME}), "namespace": ns}
    return [
        {
            "apiVersion": "v1", "kind": "Service", "metadata": meta,
            "spec": {"clusterIP": "None", "selector": {"app.kubernetes.io/name": CLIENT_NAME, RUN_LABEL: settings.run_id}},
        },
        {
            "apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": meta,
            "spec": {
                "serviceName": CLIENT_NAME,
                "replicas": replicas,
                "podManagementPolicy": "Parallel",
                "selector": {"matchLabels": {"app.kubernetes.io/name": CLIENT_NAME, RUN_LABEL: settings.run_id}},
                "template": {
                    "metadata": {"labels": labels},
                    "spec": {
                        "terminationGracePeriodSeconds": 5,
                        # The pause container is PID 1 and reaps what detached commands leave (a
                        # stopped latency probe's loop, fio's children); `sleep` would leave zombies.
                        "shareProcessNamespace": True,
                        **({"nodeSelector": dict(settings.client_node_selector)} if settings.client_node_selector else {}),
                        "topologySpreadConstraints": [{
                            "maxSkew": 1, "topologyKey": ZONE_LABEL, "whenUnsatisfiable": "ScheduleAnyway",
                            "labelSelector": {"matchLabels": {"app.kubernetes.io/name": CLIENT_NAME}},
                        }],
                        "containers": [{
                            "name": "client",
                            "image": settings.gluster_image,
                            "command": ["sleep", "infinity"],
                            "securityContext": {"privileged": True},
                            "volumeMounts": [{"name": "fuse", "mountPath": "/dev/fuse"},
                                             {"name": "mounts", "mountPath": CLIENT_MOUNT_ROOT}],
                        }],
                        "volumes": [_host_path("fuse", "/dev/fuse", "CharDevice"),
                                    {"name": "mounts", "emptyDir": {}}],
                    },
                },
            },
        },
    ]


def stack(settings: StackSettings) -> list[Manifest]:
    """What the kind provider deploys for the gluster servers: namespace then DaemonSet."""
    return [namespace(settings), glusterd_daemonset(settings)]


def catalog(settings: StackSettings) -> dict[str, list[Manifest]]:
    """Every kind of manifest the harness renders, with representative arguments (for validation)."""
    return {"stack": stack(settings), "clients": client_statefulset(settings, 2)}
