"""Pod, node and zone faults on the real local cluster: each effect observed from outside the
fault code, each revert leaving a whole volume."""
from __future__ import annotations

import time

import pytest

from harness.errors import ConfigError
from harness.faults import KillBrick, KillGlusterd, KillSelfHeal, NodeCrash, NodeHang, RestartPod, ZoneOutage
from harness.faults.probe import probe_connect
from harness.health import wait_volume_whole
from harness.providers.host.proc import procs

from ..faults_helpers import fault_state_files, process_states, write_sync


@pytest.fixture
def mounted(volume_factory, mount_factory):
    volume = volume_factory("replica3")
    return volume, mount_factory(volume, "client1")


def peer_view(observer, target) -> bool | None:
    """Whether observer's glusterd sees target Connected (None: not listed)."""
    return next((p.connected for p in observer.gluster.peer_status() if p.hostname == target.address), None)


def test_kill_brick_brick_offline_io_continues_then_whole(gluster_cluster, mounted, profile):
    volume, mount = mounted
    brick = volume.bricks[1]
    with KillBrick(gluster_cluster, volume, [1]):
        assert not volume.status(gluster_cluster.node("node1")).brick(brick.name).online
        write_sync(mount / "during")  # replica 3, quorum auto: two bricks are enough
        assert volume.heal_summary().bricks[1].pending is None  # unknown while down, never 0
    report = wait_volume_whole(volume, [mount], timeout=profile.heal_timeout_s)
    assert report.heal.samples[-1][1] == 0
    assert (gluster_cluster.node(brick.node.name).run(["cat", f"{brick.path}/during"]).stdout) == "x" * 4096


def test_kill_glusterd_peer_disconnected_bricks_stay_then_whole(gluster_cluster, mounted):
    volume, mount = mounted
    node2 = gluster_cluster.node("node2")
    old = node2.glusterd_pid()
    with KillGlusterd(gluster_cluster, "node2"):
        assert peer_view(gluster_cluster.node("node1"), node2) is False
        assert node2.glusterd_pid() is None
        write_sync(mount / "during")  # bricks are separate processes: data path unaffected
    assert node2.glusterd_pid() not in (None, old)
    wait_volume_whole(volume, [mount], timeout=60)


def test_kill_self_heal_daemon_shows_offline_then_restarts(gluster_cluster, mounted):
    volume, mount = mounted
    node3 = gluster_cluster.node("node3")

    def shd_online() -> bool:
        return any(d.online for d in volume.status(node3).self_heal_daemons() if d.host in ("localhost", node3.address))

    with KillSelfHeal(gluster_cluster, "node3", volume):
        assert not shd_online()
    assert shd_online()
    wait_volume_whole(volume, [mount], timeout=60)


def test_restart_pod_brings_new_glusterd_and_bricks(gluster_cluster, mounted):
    volume, mount = mounted
    node2 = gluster_cluster.node("node2")
    old = set(procs(node2.pids()))
    with RestartPod(gluster_cluster, "node2", volumes=[volume]):
        assert old.isdisjoint(procs(node2.pids()))  # every process is new
        assert volume.status(node2).brick(volume.bricks_on(node2)[0].name).online
    wait_volume_whole(volume, [mount], timeout=60)


def test_node_crash_kills_every_process_and_revert_restarts(gluster_cluster, mounted):
    volume, mount = mounted
    node3 = gluster_cluster.node("node3")
    with NodeCrash(gluster_cluster, "node3"):
        assert node3.pids() == []
        assert peer_view(gluster_cluster.node("node1"), node3) is False
        write_sync(mount / "during-crash")
    assert node3.glusterd_pid() is not None
    report = wait_volume_whole(volume, [mount], timeout=120)
    assert report.heal.samples[-1][1] == 0


def test_node_hang_processes_stopped_io_resumes_after_ping_timeout(gluster_cluster, mounted, profile):
    volume, mount = mounted
    node3 = gluster_cluster.node("node3")
    ping_timeout = float(profile.volume_options["network.ping-timeout"])
    with NodeHang(gluster_cluster, "node3") as fault:
        states = process_states(procs(node3.pids()))
        assert states == {"T"}, states
        start = time.monotonic()
        write_sync(mount / "during-hang")  # stalls until the client gives up on node3's brick
        stall = time.monotonic() - start
    assert process_states(fault.stopped) <= {"S", "R", "D"}
    assert stall < ping_timeout + 10, stall
    wait_volume_whole(volume, [mount], timeout=120)


@pytest.mark.parametrize("mode", ["crash", "isolate"])
def test_zone_outage(gluster_cluster, mounted, mode):
    volume, mount = mounted
    zone_node = gluster_cluster.nodes_in_zone("zone-b")[0]
    with ZoneOutage(gluster_cluster, "zone-b", mode=mode):
        if mode == "crash":
            assert zone_node.pids() == []
        else:
            assert probe_connect(gluster_cluster.node("node1"), zone_node.address).blocked
        write_sync(mount / f"zone-{mode}")  # the two other zones keep quorum
    wait_volume_whole(volume, [mount], timeout=120)


@pytest.mark.parametrize("make, message", [
    (lambda c, v: KillBrick(c, v, [7]), "has no brick 7"),
    (lambda c, v: KillGlusterd(c, "node42"), "no node named 'node42'"),
    (lambda c, v: NodeHang(c, "nodeX"), "no node named 'nodeX'"),
    (lambda c, v: ZoneOutage(c, "zone-x"), "no node in zone 'zone-x'"),
    (lambda c, v: ZoneOutage(c, "zone-a", mode="melt"), "mode must be one of"),
])
def test_bad_targets_change_nothing(gluster_cluster, volume_factory, timeline, make, message):
    volume = volume_factory("replica3")
    pids = {n.name: sorted(n.pids()) for n in gluster_cluster.nodes}
    events = len(timeline.events)
    with pytest.raises(ConfigError, match=message):
        make(gluster_cluster, volume)
    assert {n.name: sorted(n.pids()) for n in gluster_cluster.nodes} == pids
    assert len(timeline.events) == events and fault_state_files(gluster_cluster) == []
