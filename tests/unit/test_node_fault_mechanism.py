"""Which way a node fault acts on a cluster (by its capabilities), and the pure parts of the k8s-local
node runtime: the state a node's processes and freezer give, and which mounts a crash leaves stale."""
from __future__ import annotations

from dataclasses import dataclass

import pytest

from harness.cluster import Cluster, Node
from harness.control import Capability, first_served
from harness.errors import Unsupported
from harness.faults.crash import NodeCrash, RestartPod
from harness.faults.node import NodeHang, ZoneOutage
from harness.providers.k8s_local.noderuntime import node_state, stale_mounts
from harness.runner import CommandResult
from harness.timeline import Timeline

PROC, CONT = Capability.PROCESS_FAULTS, Capability.NODE_CONTAINER_FAULTS


@dataclass(eq=False)
class StubNode(Node):
    def run(self, argv, *, timeout=60.0, input=None, check=True) -> CommandResult:
        raise AssertionError(f"building a fault must run nothing, ran {argv}")


class Runtime:
    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []

    def state(self, node: str) -> str:
        return "running"

    def stop(self, node: str) -> None:
        self.calls.append(("stop", node))

    def start(self, node: str) -> None:
        self.calls.append(("start", node))

    def pause(self, node: str) -> None:
        self.calls.append(("pause", node))

    def unpause(self, node: str) -> None:
        self.calls.append(("unpause", node))


class StubCluster(Cluster):
    def __init__(self, capabilities: set[str]) -> None:
        self.run_id = "glh-unit"
        self.capabilities = frozenset(capabilities)
        self.nodes = [StubNode(f"n{i}", f"zone-{z}", f"198.18.9.{10 + i}", "/b") for i, z in enumerate("abc")]
        self.clients, self.mounts = [], []
        self.node_runtime = Runtime() if CONT in capabilities else None

    def mount(self, volume, client=None, leave_out=()):
        raise NotImplementedError

    def unmount(self, mount) -> None:
        raise NotImplementedError

    def down(self) -> None:
        pass


@pytest.mark.parametrize("capabilities, mechanism", [
    ({PROC}, PROC),  # local: the node's processes, from this host
    ({CONT}, CONT),  # kind, k8s-local: the whole node through its runtime
    ({PROC, CONT}, PROC),  # both: the finer one, as before
])
def test_node_faults_pick_their_mechanism_from_the_capabilities(capabilities, mechanism):
    cluster = StubCluster(capabilities)
    for fault in (NodeCrash(cluster, "n1", timeline=Timeline()), NodeHang(cluster, "n1", timeline=Timeline())):
        assert fault.mechanism == mechanism
        assert (fault.whole is not None) == (mechanism == CONT)
    outage = ZoneOutage(cluster, "zone-c", mode="crash", timeline=Timeline())
    assert [(type(p).__name__, p.mechanism) for p in outage.parts] == [("NodeCrash", mechanism)]


def test_a_cluster_with_neither_refuses_naming_both():
    cluster = StubCluster({Capability.POD_FAULTS})
    for build in (lambda: NodeCrash(cluster, "n1"), lambda: NodeHang(cluster, "n1"),
                  lambda: ZoneOutage(cluster, "zone-a")):
        with pytest.raises(Unsupported, match=f"needs one of {PROC}, {CONT}, which this StubCluster lacks"):
            build()


def test_restart_pod_has_only_the_process_way():
    with pytest.raises(Unsupported, match=f"restart-pod needs {PROC}"):
        RestartPod(StubCluster({CONT}), "n1")
    assert RestartPod(StubCluster({PROC}), "n1", timeline=Timeline()).mechanism is None


def test_whole_node_faults_act_through_the_runtime_only():
    cluster = StubCluster({CONT})
    crash, hang = NodeCrash(cluster, "n2", timeline=Timeline()), NodeHang(cluster, "n0", timeline=Timeline())
    crash._apply()
    hang._apply()
    assert cluster.node_runtime.calls == [("stop", "n2"), ("pause", "n0")]


def test_first_served_keeps_the_order_of_preference():
    assert first_served((PROC, CONT), frozenset({CONT, PROC})) == PROC
    assert first_served((CONT, PROC), frozenset({CONT, PROC})) == CONT
    assert first_served((PROC,), frozenset()) is None


@pytest.mark.parametrize("others, freezer, state", [
    (5, "THAWED", "running"), (0, "THAWED", "exited"), (5, "FROZEN", "paused"), (0, "FROZEN", "paused"),
    (5, "FREEZING", "freezing"),
])
def test_node_state_from_processes_and_freezer(others, freezer, state):
    assert node_state(others, freezer) == state


MOUNTINFO = """\
1 0 0:1 / / rw - ext4 /dev/root rw
2 1 0:2 / /run rw - tmpfs tmpfs rw
3 1 0:3 / /var/lib rw - ext4 /dev/root rw
4 2 0:4 / /run/containerd/io.containerd.runtime.v2.task/k8s.io/abc/rootfs rw - overlay overlay rw
5 2 0:5 / /run/containerd/io.containerd.grpc.v1.cri/sandboxes/abc/shm rw - tmpfs shm rw
6 3 0:6 / /var/lib/kubelet/pods/uid/volumes/kubernetes.io~secret/tok rw - tmpfs tmpfs rw
7 2 0:7 / /run/netns/cni-1234 rw - nsfs nsfs rw
8 2 0:8 / /run/netns/glh3-node1 rw - nsfs nsfs rw
"""


def test_stale_mounts_are_the_dead_containers_deepest_first_never_the_hosts_netns():
    found = stale_mounts(MOUNTINFO)
    assert set(found) == {"/run/containerd/io.containerd.runtime.v2.task/k8s.io/abc/rootfs",
                          "/run/containerd/io.containerd.grpc.v1.cri/sandboxes/abc/shm",
                          "/var/lib/kubelet/pods/uid/volumes/kubernetes.io~secret/tok", "/run/netns/cni-1234"}
    depths = [p.count("/") for p in found]
    assert depths == sorted(depths, reverse=True)
    assert stale_mounts(MOUNTINFO.splitlines()[0]) == []  # negative control: nothing of a container's


@pytest.fixture
def kind_cluster(tmp_path):
    """kind's provider logic on the FAKE API server and a fake docker (the same faults run against a
    real k8s-local cluster in tests/k8s_local/test_k8s_local_node_faults.py)."""
    from tests.fake_kube_api import fake_kind_cluster

    with fake_kind_cluster(tmp_path, "glh-m") as made:
        yield made


@pytest.mark.parametrize("fault, verb, state", [(NodeCrash, "kill", "exited"), (NodeHang, "pause", "paused")])
def test_node_faults_on_kind_stop_or_pause_the_node_container_and_restore_it(kind_cluster, fault, verb, state):
    cluster, runner, pool = kind_cluster
    node = cluster.nodes[2]
    with fault(cluster, node.name, timeline=Timeline(), timeout=10) as f:
        assert f.mechanism == CONT
        assert runner.containers[node.name] == state and node.address in pool.down
    assert runner.containers[node.name] == "running" and pool.down == set()
    docker = [c[1:] for c in runner.calls if c[0] == "docker" and c[1] in ("kill", "start", "pause", "unpause")]
    assert docker == [(verb, node.name), ("start" if verb == "kill" else "unpause", node.name)]
