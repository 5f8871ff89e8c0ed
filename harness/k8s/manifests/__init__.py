"""The gluster stack and its workloads as Kubernetes manifests, built as plain dicts per run.

Python-built dicts rather than templates: every field is computed from typed settings, so a run
cannot render a half-substituted YAML, and every manifest is validated in the tests against the
OpenAPI schemas of three Kubernetes minor versions (see harness.k8s.validate).

Persistent volumes: the in-tree `glusterfs` volume plugin was removed in Kubernetes 1.26, so PVs
use a CSI driver. We chose kadalu's CSI node plugin in its "External" mode, because it mounts an
*existing* gluster volume (created by the harness through the gluster CLI) as one PV without any
gluster management of its own: a statically provisioned PV whose `volumeAttributes` are exactly
the volume context kadalu's NodePublishVolume reads (`type: External`, `gserver` comma-separated
hosts, `gvolname`, `options`). No custom resource (KadaluStorage) is needed for that, so the PV is
a core object the schemas can check. The kadalu node plugin itself must be installed in the
cluster for such PVs to mount (see README); the harness's own access path does not depend on it
(client pods mount volumes with the FUSE client directly, as the local provider does).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

from ...cluster import ZONE_LABEL

Manifest = dict[str, Any]

PART_OF = "glusterharness"
RUN_LABEL = "glusterharness/run"
GLUSTERD_PORT = 24007
DEFAULT_GLUSTER_IMAGE = "docker.io/gluster/gluster-centos:latest"
DEFAULT_FIO_IMAGE = "docker.io/xridge/fio:latest"
DEFAULT_LOCUST_IMAGE = "docker.io/locustio/locust:2.32.3"
DEFAULT_S3_IMAGE = "docker.io/openstackswift/saio:latest"
CSI_DRIVER = "kadalu"
FIO_SERVER_PORT = 8765
LOCUST_MASTER_PORT = 5557
S3_PORT = 8080
STATE_DIR = "/var/lib/glusterharness"  # on the node (a kind extraMount) and at the same path in pods


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


def namespace(settings: StackSettings, name: str | None = None) -> Manifest:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": _meta(name or settings.namespace, settings, False)}


def glusterd_daemonset(settings: StackSettings) -> Manifest:
    """glusterd on every labelled storage node: host network, privileged, bricks on a host path.

    Host networking gives each glusterd the node's address (peers and bricks are named by it, as in
    gluster-kubernetes); privileged is needed for the xattrs bricks use and for iptables faults.
    glusterd runs in the foreground (`-N`) as the container's main process, so a killed glusterd is
    a restarted container, and state lives on the node so a deleted pod comes back as the same peer.
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
                        "command": ["glusterd", "-N", "--log-level=INFO"],
                        "securityContext": {"privileged": True},
                        "ports": [{"name": "glusterd", "containerPort": GLUSTERD_PORT, "protocol": "TCP"}],
                        "livenessProbe": {**probe, "initialDelaySeconds": 15, "failureThreshold": 3},
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


def gluster_persistent_volume(settings: StackSettings, volume: str, hosts: Sequence[str], size: str = "1Gi",
                              mount_options: Sequence[str] = ()) -> Manifest:
    """A PV serving an existing gluster volume through kadalu's CSI driver in External mode.

    `claimRef` binds it to the PVC of `gluster_persistent_volume_claim` only, so no other claim
    can take it.
    """
    if not hosts:
        raise ValueError("a gluster PV needs at least one server host")
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolume",
        "metadata": _meta(f"{settings.run_id}-{volume}", settings, False, {"glusterharness/volume": volume}),
        "spec": {
            "capacity": {"storage": size},
            "accessModes": ["ReadWriteMany"],
            "persistentVolumeReclaimPolicy": "Retain",  # the harness deletes gluster volumes itself
            "storageClassName": "",
            "claimRef": {"namespace": settings.namespace, "name": volume},
            "csi": {
                "driver": CSI_DRIVER,
                "volumeHandle": f"{settings.run_id}-{volume}",
                "volumeAttributes": {
                    "type": "External",
                    "gserver": ",".join(hosts),
                    "gvolname": volume,
                    "options": ",".join(mount_options),
                    "path": "",  # empty: the whole gluster volume is the PV (kadalu non-native)
                },
            },
        },
    }


def gluster_persistent_volume_claim(settings: StackSettings, volume: str, size: str = "1Gi") -> Manifest:
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": _meta(volume, settings, extra={"glusterharness/volume": volume}),
        "spec": {
            "accessModes": ["ReadWriteMany"],
            "storageClassName": "",
            "volumeName": f"{settings.run_id}-{volume}",
            "resources": {"requests": {"storage": size}},
        },
    }


def _pvc_volume(claim: str) -> dict:
    return {"name": "data", "persistentVolumeClaim": {"claimName": claim}}


def _config_map(settings: StackSettings, name: str, files: Mapping[str, str]) -> Manifest:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": _meta(name, settings), "data": dict(files)}


def s3_gateway(settings: StackSettings, claim: str, config_files: Mapping[str, str], replicas: int = 1,
               image: str = DEFAULT_S3_IMAGE) -> list[Manifest]:
    """Swift with s3api whose devices live on the gluster volume (as the gluster-s3 image did).

    `config_files` (proxy-server.conf, rings, ...) are rendered by the S3 workload code and mounted
    at /etc/swift; the devices directory is the PVC.
    """
    name = "s3-gateway"
    selector = {"app.kubernetes.io/name": name, RUN_LABEL: settings.run_id}
    return [
        _config_map(settings, f"{name}-config", config_files),
        {
            "apiVersion": "apps/v1", "kind": "Deployment", "metadata": _meta(name, settings, extra=selector),
            "spec": {
                "replicas": replicas,
                "selector": {"matchLabels": selector},
                "template": {
                    "metadata": {"labels": {**settings.labels, **selector}},
                    "spec": {"containers": [{
                        "name": "swift",
                        "image": image,
                        "ports": [{"name": "s3", "containerPort": S3_PORT}],
                        "readinessProbe": {"httpGet": {"path": "/healthcheck", "port": S3_PORT}, "periodSeconds": 5},
                        "volumeMounts": [{"name": "config", "mountPath": "/etc/swift"},
                                         {"name": "data", "mountPath": "/srv/node"}],
                    }],
                        "volumes": [{"name": "config", "configMap": {"name": f"{name}-config"}}, _pvc_volume(claim)]},
                },
            },
        },
        {
            "apiVersion": "v1", "kind": "Service", "metadata": _meta(name, settings, extra=selector),
            "spec": {"selector": selector, "ports": [{"name": "s3", "port": S3_PORT, "targetPort": S3_PORT}]},
        },
    ]


def fio_servers(settings: StackSettings, claim: str, replicas: int, image: str = DEFAULT_FIO_IMAGE) -> list[Manifest]:
    """`fio --server` in several pods (a StatefulSet for stable DNS names) on the same gluster PVC."""
    name = "fio-server"
    selector = {"app.kubernetes.io/name": name, RUN_LABEL: settings.run_id}
    return [
        {
            "apiVersion": "v1", "kind": "Service", "metadata": _meta(name, settings, extra=selector),
            "spec": {"clusterIP": "None", "selector": selector,
                     "ports": [{"name": "fio", "port": FIO_SERVER_PORT, "targetPort": FIO_SERVER_PORT}]},
        },
        {
            "apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": _meta(name, settings, extra=selector),
            "spec": {
                "serviceName": name, "replicas": replicas, "podManagementPolicy": "Parallel",
                "selector": {"matchLabels": selector},
                "template": {
                    "metadata": {"labels": {**settings.labels, **selector}},
                    "spec": {"containers": [{
                        "name": "fio", "image": image,
                        "command": ["fio", f"--server=,{FIO_SERVER_PORT}"],
                        "ports": [{"name": "fio", "containerPort": FIO_SERVER_PORT}],
                        "readinessProbe": {"tcpSocket": {"port": FIO_SERVER_PORT}, "periodSeconds": 2},
                        "volumeMounts": [{"name": "data", "mountPath": "/data"}],
                    }], "volumes": [_pvc_volume(claim)]},
                },
            },
        },
    ]


def fio_server_hosts(settings: StackSettings, replicas: int) -> list[str]:
    return [f"fio-server-{i}.fio-server.{settings.namespace}.svc" for i in range(replicas)]


def fio_client_job(settings: StackSettings, job_name: str, job_file: str, servers: int,
                   image: str = DEFAULT_FIO_IMAGE) -> list[Manifest]:
    """A Job driving every fio server at once (`fio --client=A --client=B job.fio`), JSON output.

    The job file must use `directory=/data` (the PVC in the server pods). Load beyond one pod comes
    from the servers; the client only coordinates and collects the JSON results.
    """
    clients = [f"--client={host}" for host in fio_server_hosts(settings, servers)]
    return [
        _config_map(settings, f"{job_name}-jobfile", {"job.fio": job_file}),
        {
            "apiVersion": "batch/v1", "kind": "Job", "metadata": _meta(job_name, settings),
            "spec": {
                "backoffLimit": 0,
                "template": {
                    "metadata": {"labels": {**settings.labels, "app.kubernetes.io/name": job_name}},
                    "spec": {
                        "restartPolicy": "Never",
                        "containers": [{
                            "name": "fio", "image": image,
                            "command": ["fio", *clients, "--output-format=json", "/jobs/job.fio"],
                            "volumeMounts": [{"name": "jobs", "mountPath": "/jobs"}],
                        }],
                        "volumes": [{"name": "jobs", "configMap": {"name": f"{job_name}-jobfile"}}],
                    },
                },
            },
        },
    ]


def locust(settings: StackSettings, locustfile: str, workers: int, users: int, spawn_rate: float, run_time: str,
           host: str, image: str = DEFAULT_LOCUST_IMAGE) -> list[Manifest]:
    """locust master (a Job that ends after run_time, CSV history on stdout-collected files) + workers."""
    name = "locust"
    master_sel = {"app.kubernetes.io/name": f"{name}-master", RUN_LABEL: settings.run_id}
    worker_sel = {"app.kubernetes.io/name": f"{name}-worker", RUN_LABEL: settings.run_id}
    file_mount = [{"name": "locustfile", "mountPath": "/locust"}]
    file_volume = [{"name": "locustfile", "configMap": {"name": f"{name}-file"}}]
    return [
        _config_map(settings, f"{name}-file", {"locustfile.py": locustfile}),
        {
            "apiVersion": "v1", "kind": "Service", "metadata": _meta(f"{name}-master", settings, extra=master_sel),
            "spec": {"selector": master_sel,
                     "ports": [{"name": "master", "port": LOCUST_MASTER_PORT, "targetPort": LOCUST_MASTER_PORT}]},
        },
        {
            "apiVersion": "batch/v1", "kind": "Job", "metadata": _meta(f"{name}-master", settings, extra=master_sel),
            "spec": {
                "backoffLimit": 0,
                "template": {
                    "metadata": {"labels": {**settings.labels, **master_sel}},
                    "spec": {
                        "restartPolicy": "Never",
                        "containers": [{
                            "name": "master", "image": image,
                            "args": ["-f", "/locust/locustfile.py", "--master", "--headless",
                                     f"--expect-workers={workers}", f"--users={users}", f"--spawn-rate={spawn_rate}",
                                     f"--run-time={run_time}", f"--host={host}", "--csv=/tmp/locust",
                                     "--csv-full-history"],
                            "ports": [{"name": "master", "containerPort": LOCUST_MASTER_PORT}],
                            "volumeMounts": file_mount,
                        }],
                        "volumes": file_volume,
                    },
                },
            },
        },
        {
            "apiVersion": "apps/v1", "kind": "Deployment", "metadata": _meta(f"{name}-worker", settings, extra=worker_sel),
            "spec": {
                "replicas": workers,
                "selector": {"matchLabels": worker_sel},
                "template": {
                    "metadata": {"labels": {**settings.labels, **worker_sel}},
                    "spec": {"containers": [{
                        "name": "worker", "image": image,
                        "args": ["-f", "/locust/locustfile.py", "--worker", f"--master-host={name}-master",
                                 f"--master-port={LOCUST_MASTER_PORT}"],
                        "volumeMounts": file_mount,
                    }], "volumes": file_volume},
                },
            },
        },
    ]


def stack(settings: StackSettings) -> list[Manifest]:
    """What the kind provider deploys for the gluster servers: namespace then DaemonSet."""
    return [namespace(settings), glusterd_daemonset(settings)]


def catalog(settings: StackSettings) -> dict[str, list[Manifest]]:
    """Every kind of manifest the harness renders, with representative arguments (for validation)."""
    job = "[global]\ndirectory=/data\nsize=16m\n[randrw]\nrw=randrw\nbs=4k\n"
    return {
        "stack": stack(settings),
        "clients": client_statefulset(settings, 2),
        "volume": [gluster_persistent_volume(settings, "v1", ["10.0.0.1", "10.0.0.2"], mount_options=["log-level=INFO"]),
                   gluster_persistent_volume_claim(settings, "v1")],
        "s3": s3_gateway(settings, "v1", {"proxy-server.conf": "[DEFAULT]\nbind_port = 8080\n"}),
        "fio": fio_servers(settings, "v1", 3) + fio_client_job(settings, "fio-randrw", job, 3),
        "locust": locust(settings, "from locust import User\n", workers=2, users=10, spawn_rate=5, run_time="30s",
                         host="http://s3-gateway:8080"),
    }
