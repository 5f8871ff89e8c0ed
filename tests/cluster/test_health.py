"""wait_heal and wait_volume_whole on the real cluster, with negative controls: unknown ("-") is
never taken for 0, and a disabled self-heal daemon is reported with what to check."""
from __future__ import annotations

import dataclasses

import pytest

from harness.errors import WaitTimeout
from harness.faults import KillBrick, NetworkPartition, NodeCrash
from harness.gluster.cli import GlusterError
from harness.health import HealWait, run_heal_command, wait_heal, wait_self_heal_connected, wait_volume_whole

from ..faults_helpers import write_sync

pytestmark = pytest.mark.selfheal


def test_heal_wait_is_a_frozen_value():
    wait = HealWait(1.5, ((0.1, None), (1.5, 0)))
    with pytest.raises(dataclasses.FrozenInstanceError):
        wait.seconds = 2.0  # type: ignore[misc]


def test_pending_entries_heal_to_zero_with_samples(gluster_cluster, volume_factory, mount_factory):
    volume = volume_factory("replica3")
    mount = mount_factory(volume, "client1")
    with KillBrick(gluster_cluster, volume, [2]):
        for i in range(20):
            write_sync(mount / f"f{i}")
        pending = volume.heal_summary()
        assert pending.bricks[2].pending is None and pending.total_pending is None  # "-": unknown
        assert pending.bricks[0].pending and pending.bricks[0].pending >= 20
    wait = wait_heal(volume, timeout=120)
    assert wait.samples[-1][1] == 0 and wait.seconds >= wait.samples[-1][0] > 0


def test_unknown_is_never_zero_while_a_brick_is_down(gluster_cluster, volume_factory):
    volume = volume_factory("replica3")
    with KillBrick(gluster_cluster, volume, [1]):
        with pytest.raises(WaitTimeout) as info:
            wait_heal(volume, timeout=2)
        assert f"volume {volume.name}" in str(info.value) and "=-" in str(info.value)
        with pytest.raises(WaitTimeout, match="every brick of .* online"):
            wait_volume_whole(volume, timeout=2)


def test_disabled_self_heal_daemon_times_out_naming_what_to_check(gluster_cluster, volume_factory, mount_factory):
    volume = volume_factory("replica3", {"cluster.self-heal-daemon": "off"})
    mount = mount_factory(volume, "client1")
    with KillBrick(gluster_cluster, volume, [0]):
        for i in range(5):
            write_sync(mount / f"g{i}")
    with pytest.raises(WaitTimeout) as info:
        wait_heal(volume, timeout=3)
    message = str(info.value)
    assert f"pending heal of volume {volume.name}" in message
    assert "self-heal daemon" in message and volume.bricks[1].name in message
    volume.set("cluster.self-heal-daemon", "on")  # positive control: the same state now heals
    assert wait_volume_whole(volume, [mount], timeout=120).heal.samples[-1][1] == 0


def test_index_heal_launches_once_every_daemon_is_back_after_a_partition(gluster_cluster, volume_factory):
    # Found by CI: `volume heal` right after a partition's revert failed ("Syncop Mgmt brick op
    # 'Heal' failed") while node1's daemon was still reconnecting to the other nodes' bricks. The
    # negative control (a daemon not yet connected is named) is in tests/test_gluster_xml.py.
    volume = volume_factory("replica3")
    node1, *rest = [n.name for n in gluster_cluster.nodes]
    with NetworkPartition(gluster_cluster, [[node1], rest], mounts=[]):
        pass
    output = run_heal_command(volume, timeout=30)
    assert "has been successful" in output, output


def test_index_heal_launches_once_a_restarted_node_runs_its_daemon(gluster_cluster, volume_factory):
    # Found by qualification: right after a node restart `volume heal` failed ("Staging failed on
    # <node>. Error: Self-heal daemon is not running") while `volume status` showed that daemon online.
    volume = volume_factory("replica3")
    with NodeCrash(gluster_cluster, gluster_cluster.nodes[0].name):
        pass
    output = run_heal_command(volume, timeout=30)
    assert "has been successful" in output, output


class ReplayedFailure:
    """A real node whose CLI call `method` fails `failures` times first, with the words gluster used
    when qualification met it."""

    def __init__(self, node, method: str, failures: int, errstr: str) -> None:
        self.node, self.address = node, node.address
        self.method, self.failures, self.errstr = method, failures, errstr
        self.gluster = self

    def __getattr__(self, name: str):
        real = getattr(self.node.gluster, name)
        if name != self.method:
            return real

        def replay(*args):
            if self.failures:
                self.failures -= 1
                raise GlusterError(self.node.name, [name, *args], self.errstr)
            return real(*args)
        return replay


class ReplayedCommitFailure(ReplayedFailure):
    """Right after replace-brick, the new brick's glusterd could not reach it yet."""

    def __init__(self, node, failures: int) -> None:
        super().__init__(node, "volume_clients", failures,
                         "Commit failed on 198.18.1.12. Please check log file for details.")


def replayed_import(node, volume, failures: int) -> ReplayedFailure:
    """Right after SQ1 restarted two glusterds, one was still importing the volume from its peers."""
    return ReplayedFailure(node, "volume_status", failures,
                           f"Staging failed on 198.18.0.13. Error: Volume {volume.name} does not exist")


def test_a_volume_a_restarted_glusterd_has_not_imported_yet_is_waited_for(gluster_cluster, volume_factory):
    volume = volume_factory("replica3")
    node = replayed_import(gluster_cluster.nodes[0], volume, failures=2)
    volume.wait_bricks_online(timeout=30, via=node)
    assert node.failures == 0, "the wait returned before asking again"


def test_a_volume_status_that_keeps_failing_times_out_naming_its_error(gluster_cluster, volume_factory):
    volume = volume_factory("replica3")
    with pytest.raises(WaitTimeout, match=f"last attempt failed: .*Volume {volume.name} does not exist"):
        volume.wait_bricks_online(timeout=2, via=replayed_import(gluster_cluster.nodes[0], volume, 10**6))


def test_a_brick_its_glusterd_cannot_reach_yet_is_waited_for(gluster_cluster, volume_factory):
    volume = volume_factory("replica3")
    node = ReplayedCommitFailure(gluster_cluster.nodes[0], failures=1)
    wait_self_heal_connected(volume, timeout=30, via=node)
    assert node.failures == 0, "the wait returned before asking again"


def test_a_cli_that_keeps_failing_times_out_naming_its_error(gluster_cluster, volume_factory):
    volume = volume_factory("replica3")
    with pytest.raises(WaitTimeout, match="last attempt failed: .*Commit failed on 198.18.1.12"):
        wait_self_heal_connected(volume, timeout=2, via=ReplayedCommitFailure(gluster_cluster.nodes[0], failures=10**6))
