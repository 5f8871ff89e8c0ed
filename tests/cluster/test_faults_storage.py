"""Disk, brick-loss and rolling-restart faults on the real local cluster."""
from __future__ import annotations

import time

import pytest

from harness.errors import ConfigError
from harness.faults import BrickLoss, FailingDisk, RollingRestart, SlowDisk
from harness.health import wait_volume_whole
from harness.timeline import Phase

from ..faults_helpers import write_error, write_sync


@pytest.fixture
def mounted(volume_factory, mount_factory):
    volume = volume_factory("replica3")
    return volume, mount_factory(volume, "client1")


def timed_write(path) -> float:
    start = time.monotonic()
    write_sync(path)
    return time.monotonic() - start


def test_slow_disk_delays_synced_writes_and_reset_removes_it(gluster_cluster, mounted):
    volume, mount = mounted
    base = timed_write(mount / "base")
    with SlowDisk(gluster_cluster, volume, delay_us=200_000, fops=["write", "fsync"]):
        slow = timed_write(mount / "slow")
        assert slow >= 0.2, (base, slow)  # at least one delayed fop on the way
    assert "debug.delay-gen" not in volume.info().options
    assert timed_write(mount / "after") < 0.2
    wait_volume_whole(volume, [mount], timeout=60)


def test_failing_disk_fails_writes_until_reset(gluster_cluster, mounted):
    volume, mount = mounted
    with FailingDisk(gluster_cluster, volume, error="EIO", fops=["write", "fsync"]):
        assert write_error(mount / "doomed") is not None
    assert write_error(mount / "healthy") is None
    assert not {"debug.error-gen", "debug.error-fops"} & set(volume.info().options)
    wait_volume_whole(volume, [mount], timeout=60)


@pytest.mark.parametrize("method", ["reset-brick", "replace-brick"])
def test_brick_loss_empty_brick_stays_offline_until_recovered(gluster_cluster, mounted, method, timeline):
    volume, mount = mounted
    for i in range(10):
        (mount / f"f{i}").write_text(f"data {i}")
    with BrickLoss(gluster_cluster, volume, 2) as fault:
        brick = fault.brick
        assert not volume.status(gluster_cluster.node("node1")).brick(brick.name).online
        assert brick.node.run(["ls", "-A", brick.path]).stdout.strip() == ""
        fault.recover(method)
        restored = fault.brick  # replace-brick moves it to a new directory
        names = set(restored.node.run(["ls", "-A", restored.path]).stdout.split())
        assert {f"f{i}" for i in range(10)} <= names
        assert restored.node.run(["cat", f"{restored.path}/f7"]).stdout == "data 7"
    wait_volume_whole(volume, [mount], timeout=60)
    steps = [e for e in timeline.for_fault(fault.fault_id) if e.phase == Phase.STEP.value]
    assert steps and method in steps[0].details["action"]


def test_brick_loss_revert_recovers_when_nobody_did(gluster_cluster, mounted):
    volume, mount = mounted
    (mount / "keep").write_text("kept")
    with BrickLoss(gluster_cluster, volume, 0) as fault:
        pass
    assert fault.recovered_with == "reset-brick"
    assert volume.bricks[0].node.run(["cat", f"{volume.bricks[0].path}/keep"]).stdout == "kept"
    wait_volume_whole(volume, [mount], timeout=60)


def test_rolling_restart_every_node_in_turn_with_heal_between(gluster_cluster, mounted, timeline):
    volume, mount = mounted
    before = {n.name: n.glusterd_pid() for n in gluster_cluster.nodes}
    with RollingRestart(gluster_cluster, [volume]) as fault:
        pass
    assert [s["node"] for s in fault.steps] == ["node1", "node2", "node3"]
    assert all(n.glusterd_pid() not in (None, before[n.name]) for n in gluster_cluster.nodes)
    write_sync(mount / "after-rolling")
    steps = [e for e in timeline.for_fault(fault.fault_id) if e.phase == Phase.STEP.value]
    assert [e.targets for e in steps] == [("node1",), ("node2",), ("node3",)]
    wait_volume_whole(volume, [mount], timeout=60)


@pytest.mark.parametrize("make, message", [
    (lambda c, v: SlowDisk(c, v, delay_us=0), "delay_us must be"),
    (lambda c, v: SlowDisk(c, v, fops=["teleport"]), "unknown fop"),
    (lambda c, v: FailingDisk(c, v, error="EWHATEVER"), "errno name"),
    (lambda c, v: FailingDisk(c, v, percent=150), "within \\(0, 100\\]"),
    (lambda c, v: BrickLoss(c, v, 9), "has no brick 9"),
    (lambda c, v: RollingRestart(c, [v], nodes=["node1", "node1"]), "names a node twice"),
])
def test_bad_targets_change_nothing(gluster_cluster, volume_factory, make, message):
    volume = volume_factory("replica3")
    options = volume.info().options
    with pytest.raises(ConfigError, match=message):
        make(gluster_cluster, volume)
    assert volume.info().options == options
