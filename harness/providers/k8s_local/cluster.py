"""A real Kubernetes 1.20 on this machine: control plane and nodes each in a network namespace.

Layout (one /24 of 198.18.0.0/15 per cluster, claimed through the local provider's registry, so
concurrent runs of either provider never share one):
- `<run>-sw` holds only a bridge; `<run>-cp` (.10) runs etcd, kube-apiserver, controller-manager
  and scheduler; `<run>-nodeN` (.11, .12, ...) runs its own containerd and kubelet.
- Pods of node N get 198.18.x.(128+16N)/28 from the CNI bridge plugin; each node routes the other
  nodes' pod ranges to them. Services use .64/26 (no kube-proxy runs). No default route anywhere.
- Every host is a holder process (harness/providers/host/nodeinit.py) in its netns and in a private mount namespace
  (slave of the host's) with its own /var/lib, /var/log, /opt and /run, so daemons' files never
  reach the host. Every process of the cluster lives in one cgroup tree, `/<run>-k8slocal/<host>`
  in each cgroup v1 hierarchy: teardown kills what is in it and removes it, also after a crash.
- The host reaches the API server through a forwarder on 127.0.0.1 (forwarder.py); the kubeconfig
  in the run folder points at it.
"""
from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import yaml

from ..host import netns, registry
from ..host.cgroups import cgroup_top, join_cgroup, make_cgroup
from ...cluster import ZONE_LABEL
from ...errors import ConfigError, MissingPrerequisite
from ...runner import CommandResult, run
from ..host.teardown import sweep_stale, teardown
from ...waiting import wait_for
from ..local import DEFAULT_ROOT, claim_root_base
from . import build as k8s_build
from .hosts import CNI_BIN, CONTAINERD_SOCKET, cni_config, containerd_config, in_host, spawn, start_holder
from .plan import CLIENT_NODE_LABEL, CLIENT_NODE_ROLE, Host, Plan, plan

log = logging.getLogger("harness.k8s_local")

API_PORT = 6443
STATE_FILE = "k8s-local.json"
FORWARDER = Path(__file__).with_name("forwarder.py")
SYSTEM_BINARIES = ("etcd", "containerd", "containerd-shim-runc-v2", "runc", "ctr", "nsenter", "unshare", "setsid", "ip")
START_TIMEOUT_S = 120.0


# --- the cluster ---------------------------------------------------------------------------------

@dataclass
class K8sLocalCluster:
    entry: registry.Entry
    plan: Plan
    holders: dict[str, int]
    api_port: int
    node_labels: dict[str, str] = field(default_factory=dict)  # beyond the zone, on every storage node

    @property
    def run_id(self) -> str:
        return self.plan.run_id

    @property
    def root(self) -> Path:
        return Path(self.entry.root)

    @property
    def kubeconfig(self) -> Path:
        return self.root / "kubeconfig"

    def kubectl(self, *args: str, timeout: float = 60.0, check: bool = True) -> CommandResult:
        return run([str(k8s_build.require().bin / "kubectl"), f"--kubeconfig={self.kubeconfig}", *args],
                   timeout=timeout, check=check, where=f"k8s-local {self.run_id}")

    def save_state(self) -> None:
        state = {"index": self.plan.index, "nodes": len(self.plan.nodes),
                 "zones": len({n.zone for n in self.plan.nodes}), "client_nodes": len(self.plan.clients),
                 "holders": self.holders, "api_port": self.api_port, "node_labels": self.node_labels}
        (self.root / STATE_FILE).write_text(json.dumps(state, indent=2))

    @classmethod
    def attach(cls, entry: registry.Entry) -> "K8sLocalCluster":
        state = json.loads((Path(entry.root) / STATE_FILE).read_text())
        return cls(entry, plan(state["index"], state["nodes"], state["zones"], state.get("client_nodes", 0)),
                   state["holders"], state["api_port"], state.get("node_labels", {}))

    def keep(self) -> None:
        self.entry.persistent = True
        registry.save(self.entry)

    def down(self) -> None:
        destroy(self.entry)

    def node_status(self) -> list[dict]:
        """Each node's name, zone label and Ready condition, as the API server sees them."""
        items = json.loads(self.kubectl("get", "nodes", "-o", "json").stdout)["items"]
        return [{"name": n["metadata"]["name"], "zone": n["metadata"]["labels"].get(ZONE_LABEL, ""),
                 "ready": any(c["type"] == "Ready" and c["status"] == "True" for c in n["status"]["conditions"])}
                for n in items]

    def describe(self) -> dict:
        return {"run_id": self.run_id, "provider": "k8s-local", "root": str(self.root), "subnet": self.plan.subnet,
                "kubeconfig": str(self.kubeconfig), "persistent": self.entry.persistent,
                "api_server": f"https://127.0.0.1:{self.api_port}"}


def is_k8s_local(entry: registry.Entry) -> bool:
    return (Path(entry.root) / STATE_FILE).exists()


def destroy(entry: registry.Entry) -> None:
    with registry.locked():
        teardown(entry.run_id, Path(entry.root))  # calls release_cgroups first
        registry.release(entry.index)


def check_prerequisites() -> k8s_build.Build:
    if os.geteuid() != 0:
        raise MissingPrerequisite("the k8s-local provider needs root (namespaces, cgroups); run it as root")
    built = k8s_build.require()
    missing = [b for b in SYSTEM_BINARIES if shutil.which(b) is None]
    missing += [p for p in (f"{CNI_BIN}/bridge", f"{CNI_BIN}/host-local", f"{CNI_BIN}/loopback") if not Path(p).exists()]
    if missing:
        raise MissingPrerequisite(f"missing: {', '.join(missing)}; run `make k8s` (installs etcd-server, "
                                  f"containerd, runc, containernetworking-plugins)")
    return built


class K8sLocalProvider:
    """Starts a K8sLocalCluster; anything half made is removed when the start fails."""

    def __init__(self, nodes: int = 3, zones: int = 3, root: Path = DEFAULT_ROOT,
                 images: Sequence[Path] = (), node_labels: dict[str, str] | None = None, client_nodes: int = 0) -> None:
        self.nodes, self.zones, self.root, self.client_nodes = nodes, zones, Path(root), client_nodes
        self.images = tuple(images)  # docker-archive tars each node imports besides the pause image
        self.node_labels = dict(node_labels or {})

    def up(self) -> K8sLocalCluster:
        plan(0, self.nodes, self.zones, self.client_nodes)  # bad input is refused before anything changes
        built = check_prerequisites()
        for image in self.images:
            if not Path(image).is_file():
                raise ConfigError(f"no image archive {image}")
        claim_root_base(self.root)
        with registry.locked():
            sweep_stale()
            entry = registry.claim(self.root, set())
        try:
            return self._start(entry, built)
        except BaseException:
            destroy(entry)
            raise

    def _start(self, entry: registry.Entry, built: k8s_build.Build) -> K8sLocalCluster:
        start = time.monotonic()
        p = plan(entry.index, self.nodes, self.zones, self.client_nodes)
        root = Path(entry.root)
        root.mkdir(parents=True)
        (root / STATE_FILE).write_text("{}")  # marks the run as k8s-local before anything else exists
        netns.create_switch(p.switch)
        for host in (p.control_plane, *p.kubelets):
            netns.add_host(p.switch, host.namespace, host.name, host.address)
            make_cgroup(f"{cgroup_top(p.run_id)}/{host.name}")
        for node in p.kubelets:
            run(["ip", "netns", "exec", node.namespace, "sysctl", "-qw", "net.ipv4.ip_forward=1"], timeout=15)
            for other in p.kubelets:
                if other != node:
                    run(["ip", "-n", node.namespace, "route", "add", other.pod_cidr, "via", other.address], timeout=15)
        for other in p.kubelets:
            run(["ip", "-n", p.control_plane.namespace, "route", "add", other.pod_cidr, "via", other.address],
                timeout=15)
        pki = self._certificates(p, root, built)
        holders = {p.control_plane.name: self._start_control_plane(p, root, built, pki)}
        port = self._start_forwarder(p, root)
        (root / "kubeconfig").write_text(kubeconfig_for(root / "admin.conf", f"https://127.0.0.1:{port}"))
        cluster = K8sLocalCluster(entry, p, holders, port, self.node_labels)
        cluster.save_state()
        wait_for(lambda: cluster.kubectl("get", "--raw", "/readyz", timeout=10, check=False).ok,
                 timeout=START_TIMEOUT_S, interval=0.2, what=f"the API server of {p.run_id}")
        log.info("%s: control plane up in %.1f s", p.run_id, time.monotonic() - start)
        with ThreadPoolExecutor(max_workers=len(p.kubelets)) as pool:
            for node, pid in zip(p.kubelets, pool.map(lambda n: self._start_node(cluster, n, built), p.kubelets)):
                holders[node.name] = pid
        cluster.save_state()

        def ready() -> bool:
            status = cluster.node_status()
            return len(status) == len(p.kubelets) and all(n["ready"] for n in status)

        wait_for(ready, timeout=START_TIMEOUT_S, interval=0.5, what=f"every node of {p.run_id} Ready",
                 describe=lambda: str(cluster.node_status()))
        log.info("%s: %d nodes Ready in %.1f s (kubeconfig %s)", p.run_id, len(p.kubelets), time.monotonic() - start,
                 cluster.kubeconfig)
        return cluster

    def _certificates(self, p: Plan, root: Path, built: k8s_build.Build) -> Path:
        """CA, API server, service-account keys and an admin kubeconfig, offline (kubeadm phases)."""
        pki = root / "pki"
        common = [f"--kubernetes-version={k8s_build.KUBE_VERSION}", f"--cert-dir={pki}"]
        run([built.bin / "kubeadm", "init", "phase", "certs", "all", *common,
             f"--apiserver-advertise-address={p.control_plane.address}", f"--service-cidr={p.service_cidr}",
             "--apiserver-cert-extra-sans=127.0.0.1"], timeout=60)
        run([built.bin / "kubeadm", "init", "phase", "kubeconfig", "admin", *common, f"--kubeconfig-dir={root}",
             f"--apiserver-advertise-address={p.control_plane.address}"], timeout=60)
        return pki

    def _start_control_plane(self, p: Plan, root: Path, built: k8s_build.Build, pki: Path) -> int:
        cp = p.control_plane
        cp_dir = root / cp.name
        holder = start_holder(cp, cp_dir, f"{cgroup_top(p.run_id)}/{cp.name}")
        admin = root / "admin.conf"
        spawn(cp_dir, "etcd", ["etcd", "--name=cp", f"--data-dir={cp_dir}/etcd",
                               "--listen-client-urls=http://127.0.0.1:2379",
                               "--advertise-client-urls=http://127.0.0.1:2379",
                               "--listen-peer-urls=http://127.0.0.1:2380"])
        spawn(cp_dir, "kube-apiserver", [
            built.bin / "kube-apiserver", f"--advertise-address={cp.address}", f"--bind-address={cp.address}",
            f"--secure-port={API_PORT}", "--insecure-port=0", "--etcd-servers=http://127.0.0.1:2379",
            f"--service-cluster-ip-range={p.service_cidr}", f"--client-ca-file={pki}/ca.crt",
            f"--tls-cert-file={pki}/apiserver.crt", f"--tls-private-key-file={pki}/apiserver.key",
            f"--kubelet-client-certificate={pki}/apiserver-kubelet-client.crt",
            f"--kubelet-client-key={pki}/apiserver-kubelet-client.key",
            f"--service-account-key-file={pki}/sa.pub", f"--service-account-signing-key-file={pki}/sa.key",
            "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
            "--authorization-mode=RBAC", "--allow-privileged=true", "--kubelet-preferred-address-types=InternalIP",
            "--profiling=false"])
        spawn(cp_dir, "kube-controller-manager", [
            built.bin / "kube-controller-manager", f"--kubeconfig={admin}", "--leader-elect=false",
            "--bind-address=127.0.0.1", "--port=0", f"--service-account-private-key-file={pki}/sa.key",
            f"--root-ca-file={pki}/ca.crt", f"--cluster-signing-cert-file={pki}/ca.crt",
            f"--cluster-signing-key-file={pki}/ca.key", "--use-service-account-credentials=false",
            # Otherwise it creates /usr/libexec/kubernetes/kubelet-plugins/volume/exec on the host.
            f"--flex-volume-plugin-dir={cp_dir}/flex"])
        spawn(cp_dir, "kube-scheduler", [built.bin / "kube-scheduler", f"--kubeconfig={admin}", "--leader-elect=false",
                                         "--bind-address=127.0.0.1", "--port=0"])
        return holder

    def _start_forwarder(self, p: Plan, root: Path) -> int:
        port_file = root / "api-port"
        with open(root / "forwarder.log", "a") as log_fh:
            proc = subprocess.Popen([sys.executable, str(FORWARDER), f"/run/netns/{p.control_plane.namespace}",
                                     p.control_plane.address, str(API_PORT), str(port_file)],
                                    stdin=subprocess.DEVNULL, stdout=log_fh, stderr=log_fh, start_new_session=True)
        # In the control plane's cgroup: teardown kills it with everything else.
        join_cgroup(proc.pid, f"{cgroup_top(p.run_id)}/{p.control_plane.name}")
        return int(wait_for(lambda: port_file.exists() and port_file.read_text(), timeout=15, interval=0.01,
                            what="the API forwarder to listen"))

    def _start_node(self, cluster: K8sLocalCluster, node: Host, built: k8s_build.Build) -> int:
        node_dir = cluster.root / node.name
        holder = start_holder(node, node_dir, f"{cgroup_top(cluster.run_id)}/{node.name}")
        (node_dir / "cni").mkdir()
        (node_dir / "cni" / "10-k8s-local.conflist").write_text(json.dumps(cni_config(cluster.plan.subnet, node.pod_cidr)))
        (node_dir / "containerd.toml").write_text(containerd_config(node_dir))
        start_node_daemons(cluster, node, holder, built, images=(built.image("pause"), *self.images))
        return holder


def node_labels(cluster: K8sLocalCluster, node: Host) -> dict[str, str]:
    """A storage node's zone and the provider's labels; a client node only its role (it is no storage
    node, so neither the DaemonSet nor Cluster.nodes finds it)."""
    if node in cluster.plan.clients:
        return {CLIENT_NODE_LABEL: CLIENT_NODE_ROLE}
    return {ZONE_LABEL: node.zone, **cluster.node_labels}


def start_node_daemons(cluster: K8sLocalCluster, node: Host, holder: int, built: k8s_build.Build,
                       images: Sequence[Path] = ()) -> None:
    """containerd, then `images` imported, then kubelet: the node's first start and its restart after a
    crash (harness.providers.k8s_local.noderuntime) are the same start. Images need importing once:
    they live under the node's /var/lib/containerd, which a crash keeps."""
    node_dir = cluster.root / node.name
    spawn(node_dir, "containerd", ["containerd", f"--config={node_dir / 'containerd.toml'}"])
    ctr = ["ctr", f"--address={CONTAINERD_SOCKET}", "--namespace=k8s.io"]
    wait_for(lambda: in_host(holder, [*ctr, "version"], timeout=10, check=False).ok, timeout=60, interval=0.1,
             what=f"containerd on {node.name}")
    for image in images:
        in_host(holder, [*ctr, "images", "import", image], timeout=300)
    spawn(node_dir, "kubelet", [
        built.bin / "kubelet", f"--kubeconfig={cluster.root / 'admin.conf'}", "--container-runtime=remote",
        f"--container-runtime-endpoint=unix://{CONTAINERD_SOCKET}", "--cgroup-driver=cgroupfs",
        f"--cgroup-root=/{cgroup_top(cluster.run_id)}/{node.name}", "--fail-swap-on=false",
        f"--hostname-override={node.name}", f"--node-ip={node.address}", f"--address={node.address}",
        "--node-labels=" + ",".join(f"{k}={v}" for k, v in node_labels(cluster, node).items()),
        f"--pod-infra-container-image={k8s_build.PAUSE_TAG}",
        f"--volume-plugin-dir={node_dir}/flex", "--read-only-port=0", "--resolv-conf=",
        # Images exist only as imported: never collect them, and evict nothing on a busy disk.
        "--image-gc-high-threshold=100", "--eviction-hard=", "--serialize-image-pulls=false"])


def kubeconfig_for(source: Path, server: str) -> str:
    config = yaml.safe_load(source.read_text())
    for cluster in config["clusters"]:
        cluster["cluster"]["server"] = server
    return yaml.safe_dump(config)
