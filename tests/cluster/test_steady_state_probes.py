"""The chaos extension's steady-state probes each report a broken state (negative controls):
quorum lost -> the client cannot write and read and the volume is not healthy; a slow disk ->
write p99 over its bound; gluster's default ping-timeout -> refused for hang experiments.
(The split-brain probe wraps harness.checks.check_no_split_brain, whose S1 negative control is
in tests/test_checks.py.)"""
from __future__ import annotations

from dataclasses import replace

from harness.chaos import actions, probes
from harness.chaos.target import RUN_ID_KEY, VOLUME_KEY
from harness.faults import KillBrick
from harness.volume import Volume, VolumeType


def test_probes_hold_on_a_whole_volume_and_fail_when_quorum_is_lost(gluster_cluster, volume_factory,
                                                                    mount_factory) -> None:
    volume = volume_factory(VolumeType.REPLICA3)
    mount_factory(volume)
    config = {RUN_ID_KEY: gluster_cluster.run_id, VOLUME_KEY: volume.name}
    assert probes.volume_healthy(config) is True
    assert probes.client_can_write_and_read(configuration=config) is True
    assert probes.pending_heal_is_zero(config) is True
    assert probes.no_split_brain(config) is True
    with KillBrick(gluster_cluster, volume, bricks=[0, 1]):
        assert probes.volume_healthy(config) is False
        assert probes.client_can_write_and_read(timeout_s=5, configuration=config) is False  # ENOTCONN
        assert probes.pending_heal_is_zero(config) is False  # "-" from the dead bricks is unknown, not 0


def test_heal_probe_asks_again_when_heal_info_missed_a_brick_that_is_up(gluster_cluster, volume_factory,
                                                                        monkeypatch) -> None:
    """heal info's client once refused a live brick ("volume-id changed"), answering "-" for it:
    unknown, so the probe asks again rather than call a whole volume unsteady. The first answer
    is the real one with that brick blanked, as glfsheal gave it."""
    volume = volume_factory(VolumeType.REPLICA3)
    config = {RUN_ID_KEY: gluster_cluster.run_id, VOLUME_KEY: volume.name}
    real, answers = Volume.heal_summary, []

    def first_answer_misses_brick_0(self, via=None):
        summary = real(self, via)
        if not answers:
            summary = replace(summary, bricks=(replace(summary.bricks[0], status="-", pending=None),
                                               *summary.bricks[1:]))
        answers.append(summary.total_pending)
        return summary

    monkeypatch.setattr(Volume, "heal_summary", first_answer_misses_brick_0)
    assert probes.pending_heal_is_zero(config) is True
    assert answers == [None, 0]


def test_write_p99_probe_fails_on_a_slow_disk(gluster_cluster, volume_factory, mount_factory) -> None:
    volume = volume_factory(VolumeType.REPLICA3)
    mount_factory(volume)
    config = {RUN_ID_KEY: gluster_cluster.run_id, VOLUME_KEY: volume.name}
    assert probes.write_latency_p99_below(250, configuration=config) is True
    actions.slow_disk(delay_us=300000, fops=["write", "fsync"], configuration=config)
    try:
        assert probes.write_latency_p99_below(250, configuration=config) is False
    finally:
        assert actions.revert_slow_disk(configuration=config)["reverted"] is True


def test_ping_timeout_probe_refuses_gluster_default(gluster_cluster, volume_factory) -> None:
    default = volume_factory(VolumeType.REPLICA3, {"network.ping-timeout": "42"})
    config = {RUN_ID_KEY: gluster_cluster.run_id, VOLUME_KEY: default.name}
    assert probes.ping_timeout_at_most(10, config) is False
    assert probes.ping_timeout_at_most(42, config) is True
