"""The embedded provider: real glusterd per node, each node a network + mount namespace."""
from __future__ import annotations

import json
import logging
import os
import shutil
import weakref
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Collection, Sequence

from .. import capacity
from ..gluster import versions
from ..cluster import Capability, Cluster, ClientHost
from ..errors import ConfigError, HarnessError, MissingPrerequisite
from ..health import wait_peers_connected
from ..mount import FuseMount, glusterfs_mounts, mount_name_of, mount_volume
from ..mountfiles import release_programs
from .local_hosts import LocalClient, LocalNode
from .host import netns, registry
from .host.netplan import ClusterPlan, plan_cluster
from .host.teardown import sweep_stale, teardown
from ..volume import Volume

log = logging.getLogger("harness.local")

DEFAULT_ROOT = Path(os.environ.get("GLUSTER_ROOT", "/var/tmp/glusterharness"))
ROOT_MARKER = ".glusterharness"
REQUIRED_BINARIES = ("glusterd", "gluster", "glusterfs", "ip", "nsenter", "unshare", "setsid", "iptables", "losetup")
PEER_TIMEOUT_S = 30.0


_LIVE: "weakref.WeakSet[LocalCluster]" = weakref.WeakSet()


def live_clusters() -> "list[LocalCluster]":
    """The clusters this process brought up and has not taken down: a failing test keeps the logs
    of each, not only the session's (a test may run on a cluster of its own)."""
    return sorted(_LIVE, key=lambda c: c.run_id)


class LocalCluster(Cluster):
    capabilities = frozenset({
        Capability.PROCESS_FAULTS, Capability.NODE_PROCESSES, Capability.GLUSTERD_CONTROL, Capability.PROCESS_STATS,
        Capability.NETWORK_FAULTS, Capability.PACKET_DELAY, Capability.HOST_FUSE, Capability.CLIENT_WORKLOADS,
        Capability.LOOP_DEVICES, Capability.S3_GATEWAY,
        Capability.CHAOS_TARGET, Capability.GLUSTER_VERSIONS,
    })
    STATE_FILE = "cluster.json"

    def __init__(self, entry: registry.Entry, plan: ClusterPlan, nodes: list[LocalNode], clients: list[LocalClient]):
        self.entry, self.plan = entry, plan
        self.run_id = plan.run_id
        self.root = Path(entry.root)
        self.nodes: list[LocalNode] = list(nodes)
        self.clients: list[LocalClient] = list(clients)
        self.mounts: list[FuseMount] = []
        self._mount_seq = 0

    @property
    def state_file(self) -> Path:
        return self.root / self.STATE_FILE

    def mount(self, volume: Volume, client: ClientHost | None = None, leave_out: Collection[int] = ()) -> FuseMount:
        if not self.clients:
            raise ConfigError("this cluster has no client hosts to mount from; start it with clients >= 1")
        client = client or self.clients[0]
        self._mount_seq += 1
        path = self.root / "mnt" / client.name / f"{volume.name}-{self._mount_seq}"
        mount = mount_volume(client, volume, path, self.root / "clientlogs", leave_out)
        self.mounts.append(mount)
        return mount

    def unmount(self, mount: FuseMount) -> None:
        mount.unmount()
        if mount in self.mounts:
            self.mounts.remove(mount)

    def mounts_of(self, volume: Volume) -> list[FuseMount]:
        """Mounts under <root>/mnt/<client>/<volume>-<n>, from this host's /proc/mounts (where every
        client's FUSE mount is seen), with their client's pid and log files."""
        base, logs = self.root / "mnt", self.root / "clientlogs"
        found = []
        for point in glusterfs_mounts(Path("/proc/mounts").read_text()):
            path = Path(point)
            if path.parent.parent != base or not mount_name_of(point, volume.name):
                continue
            try:
                client = self.client(path.parent.name)
            except ConfigError:
                continue
            found.append(FuseMount(client, volume, path, logs / f"{path.name}.pid", logs / f"{path.name}.log"))
        return sorted(found, key=lambda m: str(m.path))

    def down(self) -> None:
        for mount in reversed(self.mounts):
            mount.unmount()
        self.mounts.clear()
        release_programs([*self.clients, *self.nodes])
        teardown(self.run_id, self.root)
        registry.release(self.entry.index)
        _LIVE.discard(self)

    def keep(self) -> None:
        """Mark the cluster to outlive this process (`up`, --keep-cluster); `down` removes it."""
        self.entry.persistent = True
        registry.save(self.entry)

    def save_state(self) -> None:
        state = {
            "index": self.plan.index, "run_id": self.run_id, "root": str(self.root), "subnet": self.plan.subnet,
            "nodes": [{"name": n.name, "zone": n.zone, "address": n.address, "namespace": n.namespace,
                       "holder_pid": n.holder_pid, "labels": n.labels} for n in self.nodes],
            "clients": [{"name": c.name, "address": c.address, "namespace": c.namespace}
                        for c in self.clients],
        }
        self.state_file.write_text(json.dumps(state, indent=2))

    @classmethod
    def attach(cls, entry: registry.Entry) -> "LocalCluster":
        """Reconnect to a running cluster from its state file (CLI, chaos extension)."""
        state_file = Path(entry.root) / cls.STATE_FILE
        try:
            state = json.loads(state_file.read_text())
        except FileNotFoundError:
            raise HarnessError(f"{entry.run_id} has no state file {state_file}; run `python -m harness cleanup`") from None
        plan = plan_cluster(entry.index, len(state["nodes"]), len({n["zone"] for n in state["nodes"]}),
                            len(state["clients"]))
        holders = {n["name"]: n["holder_pid"] for n in state["nodes"]}
        nodes = [LocalNode(p, holders[p.name], Path(entry.root) / p.name) for p in plan.nodes]
        for node in nodes:  # what set_version left in the node's mount namespace
            if node.version_file.exists():
                node.version = node.version_file.read_text().strip()
        return cls(entry, plan, nodes, [LocalClient(p) for p in plan.clients])


def check_prerequisites() -> None:
    if os.geteuid() != 0:
        raise MissingPrerequisite("the local provider needs root (network namespaces, FUSE mounts); run as root")
    missing = [b for b in REQUIRED_BINARIES if shutil.which(b) is None]
    if missing:
        raise MissingPrerequisite(f"missing binaries: {', '.join(missing)}; run `make setup` (installs them with apt-get)")
    if not Path("/dev/fuse").exists():
        raise MissingPrerequisite("/dev/fuse is absent; load the fuse module (modprobe fuse)")


def claim_root_base(base: Path) -> None:
    """Use `base` only if the harness made it (marker file), or it is new or empty."""
    if not base.is_absolute():
        raise ConfigError(f"run root {base} must be an absolute path")
    if base.exists():
        if not base.is_dir():
            raise ConfigError(f"run root {base} exists and is not a directory; choose another --gluster-root")
        if not (base / ROOT_MARKER).exists() and any(base.iterdir()):
            raise ConfigError(
                f"run root {base} is not empty and was not made by the harness (no {ROOT_MARKER} marker); "
                f"the harness deletes what is under its root, so choose a new or empty directory"
            )
    base.mkdir(parents=True, exist_ok=True)
    (base / ROOT_MARKER).touch()


class LocalProvider:
    """Builds LocalClusters. All input is checked before anything on the machine changes."""

    def __init__(self, nodes: int = 3, zones: int = 3, clients: int = 2, root: Path = DEFAULT_ROOT,
                 volumes: int = 0, bricks_per_volume: int = 3, brick_multiplex: bool = False,
                 versions: Sequence[str] | str | None = None) -> None:
        self.nodes, self.zones, self.clients, self.root = nodes, zones, clients, Path(root)
        self.versions = parse_versions(versions, nodes)
        # What the cluster is meant to carry, for the capacity check (harness.capacity).
        self.demand = capacity.Demand(nodes, volumes, bricks_per_volume, brick_multiplex)

    def up(self) -> LocalCluster:
        plan_cluster(0, self.nodes, self.zones, self.clients)  # validate the shape before touching anything
        for version in set(self.versions):
            versions.require(version)  # a version not fetched is refused before anything changes
        capacity.check(self.demand)  # refuses what would not fit the machine, before anything changes
        check_prerequisites()
        claim_root_base(self.root)
        with registry.locked():
            sweep_stale()
            entry = registry.claim(self.root, set())
        try:
            return self._build(entry)
        except BaseException:
            teardown(entry.run_id, Path(entry.root))
            registry.release(entry.index)
            raise

    def _build(self, entry: registry.Entry) -> LocalCluster:
        plan = plan_cluster(entry.index, self.nodes, self.zones, self.clients)
        root = Path(entry.root)
        root.mkdir(parents=True)
        netns.create_switch(plan.switch_namespace)
        for host in plan.nodes + plan.clients:
            netns.add_host(plan.switch_namespace, host.namespace, host.name, host.address)
        nodes = [LocalNode(p, netns.start_holder(p.namespace, root / p.name), root / p.name) for p in plan.nodes]
        for node, version in zip(nodes, self.versions):
            Path(node.brick_root).mkdir()
            node.set_version(version)
        cluster = LocalCluster(entry, plan, nodes, [LocalClient(p) for p in plan.clients])
        cluster.save_state()
        _LIVE.add(cluster)
        with ThreadPoolExecutor(max_workers=len(nodes)) as pool:
            list(pool.map(LocalNode.start_glusterd, nodes))
        form_pool(cluster)
        log.info("cluster %s up: %s", cluster.run_id, ", ".join(f"{n.name}@{n.address}/{n.zone}" for n in nodes))
        return cluster


def parse_versions(spec: Sequence[str] | str | None, nodes: int) -> list[str]:
    """Per-node GlusterFS versions: None (installed everywhere), one version for every node, or a
    comma-separated list (or sequence) with one version per node, e.g. "10.3,10.3,11.1"."""
    installed = versions.installed_version()
    if spec is None or spec == "":
        return [installed] * nodes
    items = [v.strip() for v in (spec.split(",") if isinstance(spec, str) else spec)]
    if len(items) == 1:
        items = items * nodes
    if len(items) != nodes or not all(items):
        raise ConfigError(f"--gluster-version {spec!r} names {len(items)} versions for {nodes} nodes; give one "
                          f"version, or one per node separated by commas")
    for version in items:
        if version != installed:
            versions.release(version)
    return items


def form_pool(cluster: Cluster) -> None:
    """Probe every node from the first; return when every node sees every other Connected."""
    first, others = cluster.nodes[0], cluster.nodes[1:]
    for node in others:
        first.gluster.peer_probe(node.address)
    wait_peers_connected(cluster, PEER_TIMEOUT_S)
