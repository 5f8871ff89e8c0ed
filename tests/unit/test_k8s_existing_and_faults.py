"""The existing provider and the Kubernetes faults' logic against the FAKE API server.

Gluster answers come from FakeGlusterPool (a fake, for provider logic only); the same faults run
against real glusterd in tests/test_k8s_on_local_gluster.py.
"""
from __future__ import annotations

import pytest

from harness.errors import ConfigError
from harness.control import Capability
from harness.faults.pod import DeleteGlusterPod, NodeContainerFault
from harness.faults.network import NetworkPartition
from harness.faults.node import ZoneOutage
from harness.faults.rolling import RollingRestart
from harness.providers.k8s.manifests import StackSettings, glusterd_daemonset, namespace
from harness.providers.k8s.options import K8sOptions
from harness.providers.k8s.existing import ExistingProvider
from harness.timeline import Timeline
from tests.fake_kube_api import FakeGlusterPool, FakeKubeApi, fake_kind_cluster, seed_gluster_nodes

NODES = [("w1", "198.18.9.11", "zone-a"), ("w2", "198.18.9.12", "zone-b"), ("w3", "198.18.9.13", "zone-c")]


@pytest.fixture
def running(tmp_path):
    """A fake cluster that already runs gluster (as an operator would have deployed it)."""
    with FakeKubeApi(recreate_delay_s=0.3) as fake:
        seed_gluster_nodes(fake, NODES)
        fake.put("namespaces", namespace(StackSettings("theirs")))
        fake.put("daemonsets", glusterd_daemonset(StackSettings("theirs")))
        pool = FakeGlusterPool(fake)
        pool.pooled = {a for _, a, _ in NODES}
        fake.exec_handler = pool
        yield fake, pool, fake.write_kubeconfig(tmp_path / "kc", "prod")


def attach(kubeconfig, clients=0, **kw):
    return ExistingProvider(clients=clients, options=K8sOptions(kubeconfig=str(kubeconfig), ready_timeout_s=10, **kw),
                            run_id="glh-ex1").up()


def mutations(fake):
    return [(m, p) for m, p in fake.requests if m in ("POST", "PUT", "PATCH", "DELETE")]


def test_existing_discovers_nodes_zones_and_pods_and_never_touches_the_stack(running):
    fake, pool, kc = running
    cluster = attach(kc, clients=2)
    assert [(n.name, n.address, n.zone) for n in cluster.nodes] == NODES
    assert [c.name for c in cluster.clients] == ["gluster-client-0", "gluster-client-1"]
    assert Capability.NODE_CONTAINER_FAULTS not in cluster.capabilities
    cluster.down()
    touched = mutations(fake)
    assert touched and all("/namespaces/glusterharness-glh-ex1" in p or p.endswith("/namespaces") for _, p in touched)
    assert ("DELETE", "/api/v1/namespaces/glusterharness-glh-ex1") in touched
    assert fake.get("daemonsets", "glusterd", "glusterfs") is not None
    assert len(fake.list("pods", "glusterfs")) == 3


def test_existing_bad_input_is_reported_before_any_change(running, tmp_path):
    fake, pool, kc = running
    with pytest.raises(ConfigError, match="context 'staging' is not in kubeconfig"):
        attach(kc, kube_context="staging")
    with pytest.raises(ConfigError, match="does not exist"):
        attach(tmp_path / "missing-kubeconfig")
    with pytest.raises(ConfigError, match="'storagenode=ceph' matches no node"):
        attach(kc, node_selector="storagenode=ceph", clients=2)
    with pytest.raises(ConfigError, match="no running gluster pod .* namespace 'gluster'"):
        attach(kc, gluster_namespace="gluster", clients=2)
    assert mutations(fake) == []


def test_destructive_faults_are_refused_without_the_option_and_nothing_changes(running):
    fake, pool, kc = running
    cluster = attach(kc)
    before_pods = sorted(p["metadata"]["uid"] for p in fake.list("pods"))
    execs = len(fake.exec_calls)
    timeline = Timeline()
    for fault in (DeleteGlusterPod(cluster, "w1", timeline=timeline),
                  NetworkPartition(cluster, [["w1"], ["w2", "w3"]], timeline=timeline),
                  RollingRestart(cluster, timeline=timeline)):  # pods deleted in turn, on a user's cluster
        with pytest.raises(ConfigError, match=r"refusing to .* destructive faults are off.*--allow-destructive-faults"):
            with fault:
                pytest.fail("the body of a refused fault must not run")
    assert mutations(fake) == [] and len(fake.exec_calls) == execs
    assert sorted(p["metadata"]["uid"] for p in fake.list("pods")) == before_pods
    assert timeline.events == []
    with pytest.raises(ConfigError, match="node-container needs node-container-faults"):
        NodeContainerFault(cluster, ["w1"]).inject()
    cluster.down()


def test_pod_delete_with_the_option_waits_for_the_new_pod_and_a_whole_pool(running):
    fake, pool, kc = running
    cluster = attach(kc, allow_destructive_faults=True)
    old = cluster.gluster_pod("w2")
    timeline = Timeline()
    with DeleteGlusterPod(cluster, "w2", timeline=timeline) as fault:
        assert ("DELETE", f"/api/v1/namespaces/glusterfs/pods/{old.name}") in fake.requests
        assert fault.old_uid == old.uid
    new = cluster.gluster_pod("w2")
    assert new.uid != old.uid and new.ready
    assert [e.phase for e in timeline.events] == ["start", "effect-confirmed", "revert-started", "revert-confirmed"]
    assert timeline.active_faults() == []
    cluster.down()


@pytest.fixture
def kind_cluster(tmp_path):
    with fake_kind_cluster(tmp_path, "glh-f") as made:
        yield made


@pytest.mark.parametrize("mode, state", [("crash", "exited"), ("hang", "paused")])
def test_node_container_fault_stops_or_pauses_and_restores(kind_cluster, mode, state):
    cluster, runner, pool = kind_cluster
    node = cluster.nodes[1].name
    with NodeContainerFault(cluster, [node], mode=mode):
        assert runner.containers[node] == state
        assert cluster.nodes[1].address in pool.down
        assert [c for c in runner.calls if c[1:2] == ("kill" if mode == "crash" else "pause",)] == [
            ("docker", "kill" if mode == "crash" else "pause", node)]
    assert runner.containers[node] == "running" and pool.down == set()


def test_zone_outage_takes_every_node_of_the_zone(kind_cluster):
    cluster, runner, pool = kind_cluster
    zone = cluster.nodes[0].zone
    fault = ZoneOutage(cluster, zone)
    assert fault.targets() == (zone, *(n.name for n in cluster.nodes if n.zone == zone))
    with fault:
        assert {n for n, s in runner.containers.items() if s == "exited"} == set(fault.targets()[1:])
    assert set(runner.containers.values()) == {"running"}
    with pytest.raises(ConfigError, match="no node in zone 'zone-x'"):
        ZoneOutage(cluster, "zone-x")


def test_node_fault_bad_targets_change_nothing(kind_cluster):
    cluster, runner, pool = kind_cluster
    calls = len(runner.calls)
    with pytest.raises(ConfigError, match="no node named 'nope'"):
        NodeContainerFault(cluster, ["nope"]).inject()
    with pytest.raises(ConfigError, match="mode 'melt' is unknown"):
        NodeContainerFault(cluster, [cluster.nodes[0].name], mode="melt").inject()
    assert len(runner.calls) == calls


def test_peers_are_matched_by_address_or_by_node_name():
    from harness.gluster.xml import Peer
    from harness.providers.k8s.discovery import NodeInfo
    from harness.health import peer_of

    class N:  # the fields peer_of reads from a Node
        def __init__(self, info: NodeInfo) -> None:
            self.name, self.address, self.labels = info.name, info.address, info.labels

    node = N(NodeInfo("w1", "zone-a", "10.0.0.1", True, {"kubernetes.io/hostname": "w1.example"}))
    by_ip = {"10.0.0.1": Peer("u1", "10.0.0.1", True, "Peer in Cluster")}
    by_name = {"w1.example": Peer("u1", "w1.example", False, "Peer in Cluster")}
    assert peer_of(by_ip, node).connected is True
    assert peer_of(by_name, node).connected is False
    assert peer_of({"10.0.0.9": by_ip["10.0.0.1"]}, node) is None


def test_node_process_faults_are_refused_by_the_contract_before_anything_runs(running):
    from harness.control import Capability
    from harness.errors import Unsupported
    from harness.faults.node import NodeHang
    from harness.faults.crash import NodeCrash
    from harness.faults.glusterd import KillGlusterd
    from harness.upgrade import RollingUpgrade

    fake, pool, kc = running
    cluster = attach(kc)
    before = list(fake.requests)  # API calls and pod execs alike
    node = cluster.nodes[0]
    for build in (lambda: NodeCrash(cluster, node.name), lambda: NodeHang(cluster, node.name),
                  lambda: RollingUpgrade(cluster, "10.3")):
        with pytest.raises(Unsupported, match=Capability.PROCESS_FAULTS):
            build()
    # A user's gluster pods may run glusterd as their main process: killing it is not offered there.
    with pytest.raises(Unsupported, match=Capability.GLUSTERD_CONTROL):
        KillGlusterd(cluster, node.name)
    for ask in (node.pids, node.glusterd_pid, node.start_glusterd, lambda: node.set_version("11.1"),
                lambda: node.version):
        with pytest.raises(Unsupported, match=rf"node {node.name} \(K8sNode\) cannot .*capability"):
            ask()
    assert fake.requests == before, "a refused fault asked the cluster or ran something in a pod"
    with pytest.raises(Unsupported, match=f"a-test needs {Capability.GLUSTER_VERSIONS}"):
        cluster.require(Capability.NODE_PROCESSES, Capability.GLUSTER_VERSIONS, what="a-test")
    cluster.require(Capability.NODE_PROCESSES, what="a-test")  # has it: no error
    cluster.down()
