"""The Kubernetes cluster code over REAL gluster: the FAKE API server's pods exec into the nodes
and client hosts of this session's local cluster.

Only the Kubernetes API is fake here (tests/fake_kube_api.py). Every gluster command a pod runs
is run by real glusterd in a local node's namespaces; nft tables land in the node's real
network namespace; FUSE mounts are real. The kind node container engine is stood in for by
LocalNodeRuntime, which crashes (SIGKILL) or hangs (SIGSTOP) the local node's real processes.
"""
from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from harness.control import Capability
from harness.faults.pod import DeleteGlusterPod, NodeContainerFault, peers_seen_from
from harness.faults import netfilter
from harness.faults.network import NetworkPartition, sweep_dead_tables
from harness.faults.node import ZoneOutage
from harness.providers.k8s.manifests import StackSettings, glusterd_daemonset, namespace
from harness.providers.k8s.options import K8sOptions
from harness.providers.host.netns import kill_pids
from harness.providers.k8s.existing import EXISTING_RUN_TABLES, ExistingProvider
from harness.volume import VolumeSpec, VolumeType, create_volume
from tests.fake_kube_api import ExecCall, ExecReply, FakeKubeApi

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root for the local gluster nodes behind the fake pods")


class LocalNodeRuntime:
    """Stands in for docker in front of kind node containers: acts on a local node's real processes."""

    def __init__(self, local_cluster, fake: FakeKubeApi) -> None:
        self.local, self.fake = local_cluster, fake
        self.states: dict[str, str] = {n.name: "running" for n in local_cluster.nodes}
        self.stopped: dict[str, list[int]] = {}

    def state(self, node: str) -> str:
        return self.states[node]

    def stop(self, node: str) -> None:
        kill_pids(self.local.node(node).pids())
        self.states[node] = "exited"
        self.fake.set_node_ready(node, False)

    def start(self, node: str) -> None:
        self.local.node(node).start_glusterd()  # a restarted node's pod starts glusterd, which starts bricks
        self.states[node] = "running"
        self.fake.set_node_ready(node, True)

    def pause(self, node: str) -> None:
        self.stopped[node] = self.local.node(node).pids()
        for pid in self.stopped[node]:
            os.kill(pid, signal.SIGSTOP)
        self.states[node] = "paused"
        self.fake.set_node_ready(node, False)

    def unpause(self, node: str) -> None:
        for pid in self.stopped.pop(node, []):
            try:
                os.kill(pid, signal.SIGCONT)
            except ProcessLookupError:
                pass
        self.states[node] = "running"
        self.fake.set_node_ready(node, True)


@pytest.fixture(scope="module")
def k8s(gluster_cluster, tmp_path_factory):
    """An existing-provider cluster on the fake API whose pods are the local cluster's hosts."""
    local = gluster_cluster
    if type(local).__name__ != "LocalCluster":
        pytest.skip("needs the local provider (the fake pods exec into local nodes)")
    with FakeKubeApi(recreate_delay_s=0.3) as fake:
        fake.add_node("control-plane", "198.18.250.1", {"node-role.kubernetes.io/control-plane": ""})
        for n in local.nodes:
            fake.add_node(n.name, n.address, {"topology.kubernetes.io/zone": n.zone, "storagenode": "glusterfs"})
        fake.put("namespaces", namespace(StackSettings("theirs")))
        fake.put("daemonsets", glusterd_daemonset(StackSettings("theirs")))

        def bridge(call: ExecCall) -> ExecReply:
            if call.namespace == "glusterfs":
                host = local.node(call.node)
            else:  # client pods gluster-client-i -> local client host i
                host = local.clients[int(call.pod.rsplit("-", 1)[1])]
            result = host.run(list(call.argv), input=call.stdin.decode() if call.stdin is not None else None,
                              timeout=120, check=False)
            return ExecReply(result.returncode, result.stdout.encode(), result.stderr.encode())

        fake.exec_handler = bridge
        # client pods get the addresses of the local client hosts they exec into
        fake.pod_ips = {f"gluster-client-{i}": c.address for i, c in enumerate(local.clients)}
        kc = fake.write_kubeconfig(tmp_path_factory.mktemp("kube") / "kc", "local")
        root = Path(local.root)
        (root / "k8s-bricks").mkdir(exist_ok=True)  # what the DaemonSet's DirectoryOrCreate hostPath does
        options = K8sOptions(kubeconfig=str(kc), allow_destructive_faults=True, ready_timeout_s=30,
                             brick_root=str(root / "k8s-bricks"))
        cluster = ExistingProvider(clients=1, options=options, run_id="glh-k8slocal").up()
        cluster.options.client_mount_root = str(root / "k8s-mnt")
        cluster.node_runtime = LocalNodeRuntime(local, fake)
        cluster.capabilities = cluster.capabilities | {Capability.NODE_CONTAINER_FAULTS}
        try:
            yield cluster, fake, local
        finally:
            cluster.down()


def test_volume_create_mount_write_through_pod_exec_lands_on_real_bricks(k8s):
    cluster, fake, local = k8s
    volume = create_volume(cluster, VolumeSpec(VolumeType.REPLICA3))
    try:
        assert {b.node.name for b in volume.bricks} == {n.name for n in local.nodes}
        mount = cluster.mount(volume)
        assert mount.children_up() == [[True, True, True]]
        client = cluster.clients[0]
        client.run(["sh", "-c", f"echo through-the-fake-api > {mount.path}/f"])
        assert client.run(["cat", f"{mount.path}/f"]).stdout == "through-the-fake-api\n"
        for brick in volume.bricks:  # every replica holds it, read inside the node's pod
            assert brick.node.run(["cat", f"{brick.path}/f"]).stdout == "through-the-fake-api\n"
        cluster.unmount(mount)
        assert not client.run(["mountpoint", "-q", str(mount.path)], check=False).ok
    finally:
        volume.delete()
    assert any(c.argv[:3] == ("gluster", "--mode=script", "volume") for c in fake.exec_calls)


def test_partition_in_node_pods_cuts_real_peers_and_reverts(k8s):
    cluster, fake, local = k8s
    a, b, c = (n.name for n in cluster.nodes)
    with NetworkPartition(cluster, [[a], [b, c]]) as fault:
        assert fault.effect["probes_blocked"]  # connects measured inside the pods timed out
        tables = local.node(a).run(["nft", "list", "tables"]).stdout  # observed outside the fault code
        assert fault.table in tables
    for node in cluster.nodes:
        assert fault.table not in local.node(node.name).run(["nft", "list", "tables"]).stdout
        assert all(p.connected for p in peers_seen_from(cluster, node.name).values())


@pytest.mark.parametrize("mode", ["crash", "hang"])
def test_node_container_fault_on_real_glusterd(k8s, mode):
    cluster, fake, local = k8s
    victim = cluster.nodes[2]
    with NodeContainerFault(cluster, [victim.name], mode=mode):
        if mode == "crash":
            assert local.node(victim.name).glusterd_pid() is None
            assert not peers_seen_from(cluster, cluster.nodes[0].name)[victim.address].connected
        else:
            states = {Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()[0]
                      for p in local.node(victim.name).pids()}
            assert states == {"T"}
    assert local.node(victim.name).glusterd_pid() is not None
    for node in cluster.nodes:
        assert all(p.connected for p in peers_seen_from(cluster, node.name).values())


def test_pod_delete_confirms_new_pod_and_a_whole_real_pool(k8s):
    cluster, fake, local = k8s
    old = cluster.gluster_pod(cluster.nodes[0].name)
    with DeleteGlusterPod(cluster, cluster.nodes[0].name):
        pass
    assert cluster.gluster_pod(cluster.nodes[0].name).uid != old.uid


def test_zone_isolation_cuts_the_zone_from_every_other_host_and_heals(k8s):
    cluster, fake, local = k8s
    zone = cluster.nodes[0].zone
    fault = ZoneOutage(cluster, zone, "isolate")
    with fault:
        client = local.clients[0]  # a client host cannot reach the isolated node's glusterd
        probe = client.run(["timeout", "2", "bash", "-c", f"exec 3<>/dev/tcp/{cluster.nodes[0].address}/24007"],
                           check=False)
        assert probe.returncode != 0
    assert [p.kind for p in fault.parts] == ["isolate-node"] and fault.targets()[1:] == (cluster.nodes[0].name,)
    for node in cluster.nodes:
        assert all(p.connected for p in peers_seen_from(cluster, node.name).values())


def test_sweep_removes_tables_a_crashed_run_left_and_only_those(k8s):
    cluster, fake, local = k8s
    node = local.node(cluster.nodes[1].name)
    # Tables named as faults name theirs: an existing run's whose owner is no process here (pid_max is
    # 32768), one whose owner is this live process, and one of someone else's.
    crashed, live, foreign = "glh_00dead_f99999999_1", f"glh_00beef_f{os.getpid()}_1", "someone_else"
    for table in (crashed, live, foreign):
        node.run(["nft", "add", "table", netfilter.FAMILY, table])
    try:
        assert sweep_dead_tables(cluster, EXISTING_RUN_TABLES) == [f"1 nft table(s) on {node.name}"]
        left = node.run(["nft", "list", "tables"]).stdout
        assert crashed not in left and live in left and foreign in left
        assert sweep_dead_tables(cluster, EXISTING_RUN_TABLES) == []
    finally:
        for table in (live, foreign):
            node.run(["nft", "delete", "table", netfilter.FAMILY, table], check=False)
