"""Node and zone faults on a real k8s-local cluster (SCENARIOS.md Z1, N1): NodeCrash, NodeHang and
ZoneOutage act through the node runtime (the node's cgroup tree killed or frozen; kubelet, containerd
and pods with it), and their reverts bring the node and the volume back whole. Everything asserted
here is read outside the fault code: the node's cgroups and /proc, glusterd's peer and volume status,
the API's node conditions, the client's mount."""
from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from harness.providers.host.cgroups import CGROUP_FS, cgroup_top
from harness.control import Capability
from harness.errors import WaitTimeout
from harness.faults.crash import NodeCrash
from harness.faults.node import NodeHang, ZoneOutage
from harness.faults.pod import peer_of, peers_seen_from
from harness.providers import make_provider
from harness.providers.local import DEFAULT_ROOT
from harness.providers.host.teardown import leftovers
from harness.volume import VolumeSpec, VolumeType, create_volume
from harness.waiting import wait_for

from .conftest import k8s_built

pytestmark = k8s_built

DONE = "/tmp/hang-write-done"  # in the client pod
FAULT_TIMEOUT_S = 120.0  # a crashed node's boot: kubelet, a new sandbox, glusterd, its bricks


@pytest.fixture(scope="session")  # not module: tests split over xdist workers would make it again and again
def k8s():
    cluster = make_provider("k8s-local", nodes=3, zones=3, clients=1, root=DEFAULT_ROOT).up()
    try:
        volume = create_volume(cluster, VolumeSpec(VolumeType.REPLICA3))
        mount = cluster.mount(volume)
        yield cluster, volume, mount
        # A frozen node must not stop the teardown (release_cgroups thaws before it kills).
        cluster.node_runtime.pause(cluster.nodes[0].name)
        assert freezer(cluster, cluster.nodes[0].name) == "FROZEN"
    finally:
        cluster.down()
    assert leftovers(cluster.run_id, cluster.root) == []


def tree(cluster, node: str, hierarchy: str = "freezer") -> Path:
    return CGROUP_FS / hierarchy / cgroup_top(cluster.run_id) / node


def freezer(cluster, node: str) -> str:
    return (tree(cluster, node) / "freezer.state").read_text().strip()


def commands(cluster, node: str) -> set[str]:
    """Names of the processes in the node's cgroup tree, its holder (the node's "hardware") left out."""
    holder = int((cluster.root / node / "holder.pid").read_text())
    names = set()
    for directory, _, _ in os.walk(tree(cluster, node)):
        for pid in (Path(directory) / "cgroup.procs").read_text().split():
            if int(pid) != holder:
                try:
                    names.add(Path(f"/proc/{pid}/comm").read_text().strip())
                except FileNotFoundError:
                    pass
    return names


def node_ready(cluster, node: str) -> bool:
    conditions = cluster.api.core.read_node(node).status.conditions
    return any(c.type == "Ready" and c.status == "True" for c in conditions)


def brick_online(status, node) -> bool:
    """Whether the node's brick is online; a disconnected peer's brick may be missing from the status."""
    return any(b.online for b in status.bricks if b.hostname in (node.name, node.address))


def assert_whole(cluster, volume, mount) -> None:
    assert all(node_ready(cluster, n.name) for n in cluster.nodes)
    assert volume.status().all_bricks_online
    assert mount.children_up() == [[True, True, True]]
    for node in cluster.nodes:
        assert {"kubelet", "containerd", "glusterd", "glusterfsd"} <= commands(cluster, node.name)
        assert freezer(cluster, node.name) == "THAWED"


def test_clients_run_on_a_node_of_their_own_outside_the_zones(k8s):
    cluster, volume, mount = k8s
    assert [n.name for n in cluster.nodes] == ["node1", "node2", "node3"]
    assert cluster.zones == ["zone-a", "zone-b", "zone-c"]
    assert Capability.NODE_CONTAINER_FAULTS in cluster.capabilities
    pod = cluster.api.core.read_namespaced_pod(cluster.clients[0].name, cluster.options.namespace)
    assert pod.spec.node_name == "clients"


def test_crash_kills_kubelet_and_gluster_and_the_revert_boots_the_node(k8s):
    cluster, volume, mount = k8s
    victim, observer = cluster.node("node3"), cluster.node("node1")
    assert {"kubelet", "containerd", "glusterd", "glusterfsd"} <= commands(cluster, victim.name)
    start = time.monotonic()
    with NodeCrash(cluster, victim.name, mounts=[mount], timeout=FAULT_TIMEOUT_S) as fault:
        assert fault.mechanism == Capability.NODE_CONTAINER_FAULTS
        assert commands(cluster, victim.name) == set()  # kubelet, containerd, shims, pods: all gone
        assert peer_of(peers_seen_from(cluster, observer.name), victim).connected is False
        assert not brick_online(volume.status(via=observer), victim)
        assert brick_online(volume.status(via=observer), observer)  # the control: a live node's brick is
        # Two of three bricks: the client goes on writing.
        cluster.clients[0].run(["sh", "-c", f"echo during-crash > {mount.path}/crash-file"], timeout=60)
        crashed = time.monotonic()
    assert_whole(cluster, volume, mount)
    print(f"node crash: effect {crashed - start:.1f} s, revert {time.monotonic() - crashed:.1f} s")


def test_hang_freezes_the_node_and_stalls_io_to_its_brick_until_thawed(k8s):
    cluster, volume, mount = k8s
    victim, client = cluster.node("node2"), cluster.clients[0]
    start = time.monotonic()
    with NodeHang(cluster, victim.name, mounts=[mount], timeout=FAULT_TIMEOUT_S) as fault:
        assert fault.mechanism == Capability.NODE_CONTAINER_FAULTS
        assert freezer(cluster, victim.name) == "FROZEN"
        # A replicated write waits for every brick, and the frozen one neither answers nor resets the
        # connection (ping-timeout is 42 s): started in the background, it is still pending after 5 s.
        # (Not `timeout 5 echo ...`: a writer blocked in FUSE ignored timeout's SIGTERM for a minute.)
        client.run(["rm", "-f", DONE], timeout=30)
        client.run(["sh", "-c", f"(echo during-hang > {mount.path}/hang-file && touch {DONE}) >/dev/null 2>&1 &"],
                   timeout=30)
        time.sleep(5)
        assert not client.run(["test", "-e", DONE], timeout=30, check=False).ok, "the write did not stall"
        frozen = time.monotonic()
    assert_whole(cluster, volume, mount)
    wait_for(lambda: client.run(["test", "-e", DONE], timeout=30, check=False).ok, timeout=30,
             what="the stalled write to finish once the node thawed")
    assert client.run(["cat", f"{mount.path}/hang-file"], timeout=30).stdout == "during-hang\n"
    print(f"node hang: effect {frozen - start:.1f} s, revert {time.monotonic() - frozen:.1f} s")


def test_zone_outage_crashes_every_node_of_the_last_zone_and_reverts(k8s):
    cluster, volume, mount = k8s
    zone = cluster.zones[-1]
    start = time.monotonic()
    with ZoneOutage(cluster, zone, mode="crash", mounts=[mount], timeout=FAULT_TIMEOUT_S) as outage:
        for node in cluster.nodes_in_zone(zone):
            assert commands(cluster, node.name) == set()
        cluster.clients[0].run(["sh", "-c", f"echo during-outage > {mount.path}/zone-file"], timeout=60)
        assert [p.mechanism for p in outage.parts] == [Capability.NODE_CONTAINER_FAULTS]
        down = time.monotonic()
    assert_whole(cluster, volume, mount)
    print(f"zone outage: effect {down - start:.1f} s, revert {time.monotonic() - down:.1f} s")


def test_the_effect_checks_fail_where_nothing_was_done(k8s):
    """Negative controls: on a healthy node, a crash's and a hang's effect confirmation time out."""
    cluster, volume, mount = k8s
    for fault in (NodeCrash(cluster, "node1", timeout=3), NodeHang(cluster, "node1", timeout=3)):
        with pytest.raises(WaitTimeout):
            fault._confirm_effect()  # the effect check alone: the fault was never applied
    assert commands(cluster, "node1") >= {"kubelet", "glusterd"} and freezer(cluster, "node1") == "THAWED"
