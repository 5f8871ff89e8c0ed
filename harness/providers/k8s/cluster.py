"""A Cluster whose nodes are Kubernetes nodes running gluster pods and whose clients are pods.

Suites see the same interface as on the local provider: `node.run([...])` runs in the node's
gluster pod (host network, so the node's network namespace), `client.run([...])` in a client pod,
and `cluster.mount(volume)` gives a FUSE mount inside a client pod.
"""
from __future__ import annotations

import itertools
import logging
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Callable, Collection, Sequence

from ...cluster import DEFAULT_TIMEOUT_S, Capability, ClientHost, Cluster, Node, NodeRuntime
from ...errors import ConfigError, GlusterdStartFailed, HarnessError, WaitTimeout
from ...gluster.glusterd_log import GLUSTERD_LOG, start_ended, start_errors
from ...mount import FuseMount, detach_loops_over, glusterfs_mounts, mount_name_of, mount_volume
from ...mountfiles import release_programs
from ...runner import CommandResult
from ...volume import Volume
from ...waiting import wait_for
from .client import KubeApi
from .discovery import NodeInfo, PodInfo, running_pod
from .manifests import CLIENT_MOUNT_ROOT, GLUSTERD_START
from .podexec import ExecRunner, PodStream

log = logging.getLogger("harness.k8s")


# Every Kubernetes cluster: processes seen and signalled inside the gluster pods, nft in the nodes' host
# network and in client pods, pods deleted through the API, fio in client pods (their image must have it).
K8S_CAPABILITIES = frozenset({Capability.NODE_PROCESSES, Capability.NETWORK_FAULTS, Capability.POD_FAULTS,
                              Capability.CLIENT_WORKLOADS})


GLUSTER_LOG_DIR = "/var/log/glusterfs"  # the DaemonSet's glusterd-log volume
LOG_MARK = "==> glusterharness log "


class K8sNode(Node):
    """A storage node; commands run in whichever gluster pod currently runs on it."""

    def __init__(self, info: NodeInfo, brick_root: str, cluster: "K8sCluster") -> None:
        super().__init__(name=info.name, zone=info.zone, address=info.address, brick_root=brick_root,
                         labels=dict(info.labels))
        self.cluster_ref = cluster

    def pod(self) -> PodInfo:
        return self.cluster_ref.gluster_pod(self.name)

    def run(self, argv: Sequence[str], *, timeout: float = DEFAULT_TIMEOUT_S, input: str | None = None,
            check: bool = True) -> CommandResult:
        pod = self.pod()
        return self.cluster_ref.exec(pod.namespace, pod.name, argv, timeout=timeout, input=input, check=check,
                                     where=f"node {self.name} (pod {pod.name})")

    def open_stream(self, argv: Sequence[str]) -> PodStream:
        pod = self.pod()
        return self.cluster_ref.exec.open_stream(pod.namespace, pod.name, argv, what=argv[0],
                                                 where=f"node {self.name} (pod {pod.name})")

    def log_tails(self, max_bytes: int) -> dict[str, bytes]:
        """Read in the node's gluster pod, one exec for them all (each file's end after a marker line)."""
        script = (f'cd {GLUSTER_LOG_DIR} && find . -name "*.log" -size +0c | sort | while read -r f; do '
                  f'printf "\\n{LOG_MARK}%s\\n" "${{f#./}}"; tail -c {int(max_bytes)} "$f"; done')
        text = self.run(["sh", "-c", script], timeout=60).stdout
        return {name: body.encode() for name, _, body in
                (part.partition("\n") for part in text.split(f"\n{LOG_MARK}")[1:])}

    def run_in_network(self, argv: Sequence[str], *, timeout: float = DEFAULT_TIMEOUT_S) -> CommandResult:
        """Through the node runtime: the gluster pod shares the node's network (host network)."""
        runtime = self.cluster_ref.node_runtime
        if runtime is None:
            return super().run_in_network(argv, timeout=timeout)
        return runtime.run_in_network(self.name, argv, timeout)

    def glusterd_pid(self) -> int | None:
        self._require_glusterd_control("find its glusterd")
        found = self.run(["pgrep", "-x", "glusterd"], timeout=15, check=False).stdout.split()
        return int(found[0]) if found else None

    def start_glusterd(self) -> None:
        """Start glusterd in the node's pod as its entrypoint does; return once it answers the CLI.
        A glusterd that exits at start or never answers raises GlusterdStartFailed quoting its log."""
        self._require_glusterd_control("start its glusterd")
        size = self.run(["stat", "-c", "%s", GLUSTERD_LOG], timeout=15, check=False).stdout.strip()
        offset = int(size) if size.isdigit() else 0

        def logged() -> str:  # what this start has logged so far
            return self.run(["tail", "-c", f"+{offset + 1}", GLUSTERD_LOG], timeout=15, check=False).stdout

        def answers() -> bool:
            if self.run(["gluster", "--mode=script", "pool", "list"], timeout=10, check=False).ok:
                return True
            if start_ended(logged()):
                raise self._start_failed("exited at start", logged())
            return False

        # Daemonized, glusterd's first process exits with its start's status.
        started = self.run(["sh", "-c", 'exec "$@" </dev/null >/dev/null 2>&1', "glusterd", *GLUSTERD_START],
                           timeout=60, check=False)
        if not started.ok:
            raise self._start_failed(f"exited {started.returncode} at start", logged())
        try:
            wait_for(answers, timeout=30, what=f"glusterd on {self.name} to answer")
        except WaitTimeout as exc:
            raise self._start_failed(f"did not come up ({exc})", logged()) from None

    def _start_failed(self, reason: str, logged: str) -> GlusterdStartFailed:
        words = self.run(["glusterd", "--version"], timeout=15, check=False).stdout.split()
        version = words[1] if len(words) > 1 else "(version unknown)"
        return GlusterdStartFailed(self.name, version, reason, start_errors(logged),
                                   f"{GLUSTERD_LOG} in pod {self.pod().name}")

    def _require_glusterd_control(self, action: str) -> None:
        if Capability.GLUSTERD_CONTROL not in self.cluster_ref.capabilities:
            raise self._unsupported(action, Capability.GLUSTERD_CONTROL)


class K8sClient(ClientHost):
    """A client host: one pod of the client StatefulSet."""

    def __init__(self, pod: PodInfo, cluster: "K8sCluster") -> None:
        super().__init__(name=pod.name, address=pod.ip)
        self.namespace = pod.namespace
        self.node, self.uid = pod.node, pod.uid
        self.cluster_ref = cluster

    def run(self, argv: Sequence[str], *, timeout: float = DEFAULT_TIMEOUT_S, input: str | None = None,
            check: bool = True) -> CommandResult:
        return self.cluster_ref.exec(self.namespace, self.name, argv, timeout=timeout, input=input, check=check,
                                     where=f"client {self.name}")

    def open_stream(self, argv: Sequence[str]) -> PodStream:
        return self.cluster_ref.exec.open_stream(self.namespace, self.name, argv, what=argv[0],
                                                 where=f"client {self.name}")

    def run_in_network(self, argv: Sequence[str], *, timeout: float = DEFAULT_TIMEOUT_S) -> CommandResult:
        """Through the node runtime, in the pod's own network namespace."""
        runtime = self.cluster_ref.node_runtime
        if runtime is None:
            return super().run_in_network(argv, timeout=timeout)
        return runtime.run_in_network(self.node, argv, timeout, pod_uid=self.uid)

    def network_namespace(self) -> str:
        runtime = self.cluster_ref.node_runtime
        if runtime is None:
            return super().network_namespace()
        return runtime.network_namespace(self.node, self.uid)


class K8sFuseMount(FuseMount):
    """A FUSE mount inside a client pod: state is read through the pod, never from local files."""

    def _read(self, path: PurePosixPath) -> str | None:
        result = self.client.run(["cat", str(path)], timeout=15, check=False)
        return result.stdout if result.ok else None

    def children_up(self) -> list[list[bool]] | None:
        from ...mount import CHILD_UP_RE, _disperse_children

        sets = []
        kind = "replicate" if self.volume.spec.replicated else "disperse"
        for i in range(self.volume.spec.sets):
            text = self._read(PurePosixPath(self.path) / ".meta/graphs/active" / f"{self.volume.name}-{kind}-{i}" / "private")
            if text is None:
                return None
            if self.volume.spec.replicated:
                sets.append([v == "1" for _, v in sorted((int(i), v) for i, v in CHILD_UP_RE.findall(text))])
            else:
                sets.append(_disperse_children(text, self.volume.spec.set_size))
        return sets

    @property
    def pid(self) -> int | None:
        text = self._read(PurePosixPath(self.pid_file))
        try:
            return int(text.strip()) if text else None
        except ValueError:
            return None

    def unmount(self) -> None:
        """Unmount in the pod and stop its FUSE client. Idempotent."""
        pid = self.pid
        detach_loops_over(self.client, PurePosixPath(self.path))
        if self.client.run(["mountpoint", "-q", str(self.path)], timeout=15, check=False).ok:
            if not self.client.run(["umount", str(self.path)], timeout=30, check=False).ok:
                self.client.run(["umount", "-l", str(self.path)], timeout=30)
        if pid:
            self.client.run(["kill", str(pid)], timeout=15, check=False)


@dataclass
class K8sClusterOptions:
    """How a K8sCluster finds its pods and what it may do."""

    namespace: str
    gluster_pod_selector: str
    brick_root: str
    client_namespace: str
    client_selector: str
    allow_destructive_faults: bool
    description: str  # e.g. "kind cluster glh-ab12" or "kubeconfig ~/.kube/config (context prod)"
    # The harness deployed the gluster pods (GLUSTERD_ENTRYPOINT), so glusterd is not their main
    # process and may be killed and started inside them; a user's pods may run it as PID 1.
    glusterd_restartable: bool = False
    # The cluster is in this host's registry with its state in a run folder (k8s-local), so a
    # chaostoolkit run finds it by run id and attaches (harness.chaos.target).
    registered: bool = False
    # Client pods see the host's loop devices (k8s-local: privileged pods on this machine's kernel,
    # its /dev/loop* present when they start), so block workloads attach one there.
    loop_devices: bool = False
    # Client pods run an image with Swift, memcached and locust (the images `make k8s` builds), and
    # the node runtime enters their network from this host (k8s-local): the S3 workloads run.
    s3_gateway: bool = False
    client_mount_root: str = CLIENT_MOUNT_ROOT


class K8sCluster(Cluster):
    """Nodes, clients and mounts of a Kubernetes cluster running gluster pods."""

    def __init__(self, api: KubeApi, run_id: str, options: K8sClusterOptions, nodes: Sequence[NodeInfo],
                 clients: Sequence[PodInfo], exec_runner: ExecRunner, node_runtime: NodeRuntime | None = None,
                 on_down: Callable[[], None] | None = None, on_keep: Callable[[], None] | None = None,
                 root: Path | None = None) -> None:
        self.api, self.run_id, self.options = api, run_id, options
        self.root = root  # the run's folder on this host, where the provider keeps one (k8s-local)
        self.volume_prefix = f"{run_id}-"
        self.exec = exec_runner
        self.node_runtime = node_runtime
        self.nodes: list[Node] = [K8sNode(n, options.brick_root, self) for n in nodes]
        self.clients: list[ClientHost] = [K8sClient(p, self) for p in clients]
        self.capabilities = (K8S_CAPABILITIES | (node_runtime.capabilities if node_runtime else set())
                             | ({Capability.GLUSTERD_CONTROL} if options.glusterd_restartable else set())
                             | ({Capability.CHAOS_TARGET} if options.registered else set())
                             | ({Capability.LOOP_DEVICES} if options.loop_devices else set())
                             | ({Capability.S3_GATEWAY} if options.s3_gateway else set()))
        self.mounts: list[K8sFuseMount] = []
        self._seq = itertools.count(1)
        self._on_down, self._on_keep = on_down, on_keep
        self._down = False

    def gluster_pod(self, node: str) -> PodInfo:
        pod = running_pod(self.api.core, self.options.namespace, self.options.gluster_pod_selector, node)
        if pod is None:
            raise HarnessError(
                f"no running gluster pod on node {node} (namespace {self.options.namespace}, selector "
                f"{self.options.gluster_pod_selector!r}); is the node down or the pod restarting?"
            )
        return pod

    def require_destructive(self, what: str) -> None:
        """Raise ConfigError (before any change) unless destructive faults are allowed here."""
        if not self.options.allow_destructive_faults:
            raise ConfigError(
                f"refusing to {what} on {self.options.description}: destructive faults are off for this "
                f"cluster; pass --allow-destructive-faults (env GLUSTER_ALLOW_DESTRUCTIVE_FAULTS=1) only if "
                f"it may be disrupted"
            )

    def mount(self, volume: Volume, client: ClientHost | None = None, leave_out: Collection[int] = ()) -> K8sFuseMount:
        if not self.clients:
            raise ConfigError("this cluster has no client pods to mount from; run with --gluster-clients >= 1")
        client = client or self.clients[0]
        root = PurePosixPath(self.options.client_mount_root)
        name = f"{volume.name}-{next(self._seq)}"
        mount = mount_volume(client, volume, root / "mnt" / name, root / "logs", leave_out, kind=K8sFuseMount)
        self.mounts.append(mount)
        return mount

    def mounts_of(self, volume: Volume) -> list[K8sFuseMount]:
        """Mounts <client_mount_root>/mnt/<volume>-<n> in each client pod, from the pod's /proc/mounts."""
        root = PurePosixPath(self.options.client_mount_root)
        found = []
        for client in self.clients:
            for point in glusterfs_mounts(client.run(["cat", "/proc/mounts"], timeout=15).stdout):
                path = PurePosixPath(point)
                if path.parent != root / "mnt" or not mount_name_of(point, volume.name):
                    continue
                logs = root / "logs"
                found.append(K8sFuseMount(client, volume, path, logs / f"{path.name}.pid", logs / f"{path.name}.log"))
        return sorted(found, key=lambda m: (m.client.name, str(m.path)))

    def unmount(self, mount: FuseMount) -> None:
        mount.unmount()
        if mount in self.mounts:
            self.mounts.remove(mount)  # type: ignore[arg-type]

    def wait_node_ready(self, node: str, timeout: float) -> None:
        """Kubernetes node Ready, its gluster pod Ready, and glusterd answering the CLI."""
        def ready() -> bool:
            info = self.api.core.read_node(node)
            if not any(c.type == "Ready" and c.status == "True" for c in info.status.conditions or []):
                return False
            pod = running_pod(self.api.core, self.options.namespace, self.options.gluster_pod_selector, node)
            if pod is None or not pod.ready:
                return False
            try:
                return self.exec(pod.namespace, pod.name, ["gluster", "--mode=script", "pool", "list"], timeout=10,
                                 check=False).ok
            except HarnessError:  # a restarting kubelet refuses the exec: not ready yet
                return False

        wait_for(ready, timeout=timeout, what=f"node {node} Ready with its gluster pod answering", interval=0.5)

    def down(self) -> None:
        if self._down:
            return
        for mount in reversed(self.mounts):
            try:
                mount.unmount()
            except HarnessError as exc:
                log.warning("unmounting %s failed: %s", mount.path, exc)
        self.mounts.clear()
        release_programs([*self.clients, *self.nodes])
        if self._on_down:
            self._on_down()
        self._down = True

    def keep(self) -> None:
        """Leave the cluster running after this process (--keep-cluster)."""
        if self._on_keep:
            self._on_keep()
        self._on_down = None

    def server_version(self) -> str | None:
        """The API server's version as GET /version reports it (gitVersion, e.g. v1.20.2); None when
        it does not answer (the description must never stop a run)."""
        from kubernetes import client
        from kubernetes.client.rest import ApiException
        from urllib3.exceptions import HTTPError

        try:
            return client.VersionApi(self.api.api_client).get_code(_request_timeout=10).git_version
        except (ApiException, HTTPError) as exc:
            log.warning("GET /version of %s failed: %s", self.options.description, exc)
            return None

    def describe(self) -> dict:
        return {**super().describe(), "provider": self.options.description, "namespace": self.options.namespace,
                "capabilities": sorted(self.capabilities), "kubernetes_version": self.server_version()}

