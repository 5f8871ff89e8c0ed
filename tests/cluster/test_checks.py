"""Every check on a healthy state passes, and on a broken one (the negative control) reports it."""
from __future__ import annotations

import errno
import re

import pytest

from harness.checks import (
    check_access, check_bricks_consistent, check_client_quorum, check_heal, check_no_split_brain,
    client_quorum_met, prepare_access_probe, probe_access,
)
from harness.faults.process import KillBrick
from harness.gluster.gfidless import KNOWN_DEFECT
from harness.health import run_heal_command
from harness.results import all_passed, result_words
from harness.volume import VolumeType

NO_CLIENT_HEAL = {"cluster.self-heal-daemon": "off", "cluster.data-self-heal": "off",
                  "cluster.metadata-self-heal": "off", "cluster.entry-self-heal": "off"}


@pytest.mark.parametrize(
    "child_up, quorum_type, count, met",
    [
        ([True, True, True], "auto", 0, True),
        ([True, True, False], "auto", 0, True),
        ([True, False, False], "auto", 0, False),
        ([True, False], "auto", 0, True),  # exactly half, including the first child
        ([False, True], "auto", 0, False),  # exactly half, without the first child
        ([False, True], "none", 0, True),
        ([False, False], "none", 0, False),
        ([True, True, False], "fixed", 3, False),
        ([True, True, False], "fixed", 2, True),
    ],
)
def test_client_quorum_rule(child_up, quorum_type, count, met):
    assert client_quorum_met(child_up, quorum_type, count) is met


def write_files(mount, count: int = 20, prefix: str = "f") -> list[str]:
    names = [f"{prefix}{i}" for i in range(count)]
    for name in names:
        (mount / name).write_bytes(name.encode() * 100)
    return names


def test_consistency_passes_on_a_healthy_volume(volume_factory, mount_factory):
    volume = volume_factory(VolumeType.REPLICA3)
    mount = mount_factory(volume)
    (mount / "dir").mkdir()
    write_files(mount)
    result = check_bricks_consistent(volume)
    assert result.passed is True, result.explain()
    assert result.evidence["entries_compared"] >= 21
    # The row says how much was compared, not only that nothing differed.
    assert result_words(result.to_dict())[1].startswith(
        f"bricks consistent: entries compared {result.evidence['entries_compared']} on 3 bricks (1 replica set), "
        "mismatches none")


def test_consistency_reports_a_brick_file_tampered_with(volume_factory, mount_factory):
    volume = volume_factory(VolumeType.REPLICA3)
    mount = mount_factory(volume)
    write_files(mount)
    victim = volume.bricks[1]
    victim.node.run(["sh", "-c", f"printf corrupted > {victim.path}/f7"])
    result = check_bricks_consistent(volume)
    assert result.passed is False
    assert any(m.startswith("f7: content differs") for m in result.observed["mismatches"]), result.explain()


def test_consistency_reports_a_file_missing_from_one_brick(volume_factory, mount_factory):
    volume = volume_factory(VolumeType.ARBITER)
    mount = mount_factory(volume)
    write_files(mount, 3)
    arbiter = next(b for b in volume.bricks if b.is_arbiter)
    arbiter.node.run(["rm", f"{arbiter.path}/f1"])
    result = check_bricks_consistent(volume)
    assert result.passed is False
    assert f"f1: missing on {arbiter.name}" in result.observed["mismatches"], result.explain()


def test_consistency_reports_pending_changelog_xattrs(volume_factory, mount_factory):
    volume = volume_factory(VolumeType.REPLICA3)
    mount = mount_factory(volume)
    write_files(mount, 2)
    brick = volume.bricks[0]
    key = f"trusted.afr.{volume.name}-client-1"
    brick.node.run(["setfattr", "-n", key, "-v", "0x000000010000000000000000", f"{brick.path}/f0"])
    result = check_bricks_consistent(volume)
    assert result.passed is False
    assert any(key in p and p.startswith("f0 on") for p in result.observed["pending_xattrs"]), result.explain()


def test_heal_check_measures_time_and_backlog(gluster_cluster, volume_factory, mount_factory, profile):
    volume = volume_factory(VolumeType.REPLICA3)
    mount = mount_factory(volume)
    with KillBrick(gluster_cluster, volume, [2], mounts=[mount]):
        write_files(mount, 30)
    result = check_heal(volume, timeout=profile.heal_timeout_s)
    assert result.passed is True, result.explain()
    assert result.evidence["heal_seconds"] >= 0 and result.evidence["backlog"][-1][1] == 0
    backlog = max(p for _, p in result.evidence["backlog"] if p is not None)
    assert re.fullmatch(rf"pending heal 0 after [\d.]+ s \(at most {backlog} entries pending\)", result.observed)
    assert check_bricks_consistent(volume).passed is True


def test_heal_check_times_out_clearly_with_the_self_heal_daemon_disabled(gluster_cluster, volume_factory,
                                                                         mount_factory):
    volume = volume_factory(VolumeType.REPLICA3, NO_CLIENT_HEAL)
    mount = mount_factory(volume)
    with KillBrick(gluster_cluster, volume, [2], mounts=[mount]):
        write_files(mount, 10)
    result = check_heal(volume, timeout=8)
    assert result.passed is False
    # The row carries the figures: seconds waited, entries left in all and per brick.
    found = re.fullmatch(r"pending heal not 0 after 8 s: (\d+) entries pending \(\S+-b0=(\d+), .*\)", result.observed)
    assert found and int(found[1]) >= int(found[2]) >= 10, result.observed
    reason = result.evidence["reason"]
    assert "self-heal daemon" in reason and volume.name in reason
    # The entries left are named (five per brick), so a reader knows which files to inspect.
    assert re.search(r"pending entries: \S+-b0: ([^,;]+, ){4}[^,;]+ and \d+ more;", reason), reason
    assert "/f" in reason.partition("pending entries:")[2], reason
    assert result.known_defect is None and KNOWN_DEFECT not in reason, reason


def test_heal_check_names_what_blocks_a_heal_glusterfs_cannot_finish(gluster_cluster, volume_factory, mount_factory):
    """The state a brick killed between creating a file and setting its gfid leaves: the name, with
    no trusted.gfid, on that brick only, while the others' granular entry index names it (created and
    renamed away while the brick was down). GlusterFS 10.3 retries the heal of its directory forever."""
    volume = volume_factory(VolumeType.REPLICA3)
    mount = mount_factory(volume)
    (mount / "d").mkdir()
    victim = volume.bricks[0]
    with KillBrick(gluster_cluster, volume, [0], mounts=[mount]):
        (mount / "d" / ".partial.tmp").write_text("acknowledged")
        (mount / "d" / ".partial.tmp").rename(mount / "d" / "final")
        victim.node.run(["touch", f"{victim.path}/d/.partial.tmp"])
    result = check_heal(volume, timeout=15)
    assert result.passed is False
    defect = result.known_defect
    assert defect and defect.startswith(KNOWN_DEFECT) and f"{victim.name}: d/.partial.tmp" in defect, result.explain()
    reason = result.evidence["reason"]
    assert defect in reason
    assert "Check: is the self-heal daemon running" not in reason  # the generic hints would mislead here
    # The remedy the message gives works: remove the name from that brick, ask for a heal.
    victim.node.run(["rm", f"{victim.path}/d/.partial.tmp"])
    run_heal_command(volume)
    assert check_heal(volume, timeout=60).passed is True
    assert (mount / "d" / "final").read_text() == "acknowledged"


def make_split_brain(cluster, volume, mount, name: str = "sb") -> None:
    """Scenario S1: replica 2 without quorum or heals; each brick takes a write the other misses."""
    (mount / name).write_text("v0")
    with KillBrick(cluster, volume, [0], mounts=[mount]):
        (mount / name).write_text("written while brick 0 was down")
    with KillBrick(cluster, volume, [1], mounts=[mount]):
        (mount / name).write_text("written while brick 1 was down, different size")


def test_split_brain_check_passes_when_there_is_none(volume_factory, mount_factory):
    volume = volume_factory(VolumeType.REPLICA2)
    mount = mount_factory(volume)
    write_files(mount, 3)
    result = check_no_split_brain(volume, mount, ["f0", "f1", "f2"])
    assert result.passed is True, result.explain()


def test_split_brain_check_reports_a_real_split_brain(gluster_cluster, volume_factory, mount_factory):
    volume = volume_factory(VolumeType.REPLICA2, {**NO_CLIENT_HEAL, "cluster.quorum-type": "none"})
    mount = mount_factory(volume)
    make_split_brain(gluster_cluster, volume, mount)
    result = check_no_split_brain(volume, mount, ["sb"])
    assert result.passed is False
    assert result.observed["eio_reads"] == ["sb"]
    assert "/sb" in result.observed["split_brain_entries"], result.explain()
    assert check_bricks_consistent(volume).passed is False


class BrickDownAtRead:
    """A real node whose CLI call `method` meets a brick down once: the brick is killed (`fault`, not
    yet injected) just before the first call after an answer `when` accepts (None: the first call)
    and, with `restart`, started again (confirmed online) just after it; that call returns what
    gluster answered with the brick down ("-"). The moment after a revert when heal info has no
    count from a brick yet, made to happen at a known read."""

    def __init__(self, fault: KillBrick, method: str, when=None, restart: bool = True) -> None:
        self.node, self.gluster = fault.observer, self
        self.fault, self.method, self.when, self.restart = fault, method, when, restart
        self.ready, self.met, self.calls_after = when is None, False, 0

    def __getattr__(self, name: str):
        real = getattr(self.node.gluster, name)
        if name != self.method:
            return real

        def read(*args):
            if self.met:
                self.calls_after += 1
                return real(*args)
            if not self.ready:
                answer = real(*args)
                self.ready = self.when(answer)
                return answer
            self.met = True
            self.fault.inject()
            answer = real(*args)
            if self.restart:
                self.fault.revert()
            return answer
        return read


def healed(summary) -> bool:
    """heal's own wait is over: the next `heal info summary` is the split-brain read."""
    return summary.total_pending == 0


def test_split_brain_checks_wait_out_a_count_unknown_for_a_moment(gluster_cluster, volume_factory, mount_factory):
    volume = volume_factory(VolumeType.REPLICA3)
    write_files(mount_factory(volume), 3)
    for method, check in [("heal_split_brain", lambda via: check_no_split_brain(volume, via=via)),
                          ("heal_summary", lambda via: check_heal(volume, timeout=60, via=via)),
                          ("heal_split_brain", lambda via: check_bricks_consistent(volume, via=via))]:
        fault = KillBrick(gluster_cluster, volume, [1])
        reader = BrickDownAtRead(fault, method, None if method == "heal_split_brain" else healed)
        try:
            result = check(reader)
        finally:
            fault.revert()
        assert reader.met and reader.calls_after >= 1, "the check returned at the read that met the brick down"
        assert result.passed is True, result.explain()


def test_split_brain_checks_say_unknown_and_why_when_a_count_stays_unknown(gluster_cluster, volume_factory,
                                                                          mount_factory):
    volume = volume_factory(VolumeType.REPLICA3)
    write_files(mount_factory(volume), 3)
    down = re.escape(volume.bricks[1].name)
    with KillBrick(gluster_cluster, volume, [1]):
        result = check_no_split_brain(volume, wait_s=2)
        consistent = check_bricks_consistent(volume, wait_s=2)
    assert result.passed is None and consistent.passed is None, result.explain() + consistent.explain()
    for observed in (result.observed, consistent.observed):
        assert re.fullmatch(rf'split-brain count unknown after 2 s: {down} \(.+\) answered "-"', observed["unknown"])
    fault = KillBrick(gluster_cluster, volume, [1])
    try:
        heal = check_heal(volume, timeout=15, via=BrickDownAtRead(fault, "heal_summary", healed, restart=False))
    finally:
        fault.revert()
    assert heal.passed is None, heal.explain()
    assert re.fullmatch(r"pending heal 0 after [\d.]+ s \(at most \d+ entries pending\) but split-brain count "
                        rf'unknown after \d+ s: {down} \(.+\) answered "-"', heal.observed), heal.explain()
    # The row names the part that is not pass first, though another part of the same name passed.
    row = result_words(all_passed([check_heal(volume, timeout=60), heal]).to_dict())[1]
    assert row.startswith("not passed: self-heal completes #2 (UNKNOWN). "), row


def test_access_probe_all_ok_on_a_healthy_volume(volume_factory, mount_factory):
    mount = mount_factory(volume_factory(VolumeType.REPLICA3))
    prepare_access_probe(mount)
    report = probe_access(mount)
    result = check_access(report, {op: "ok" for op in report.labels()})
    assert result.passed is True, result.explain()
    assert check_client_quorum(mount, expect_met=True).passed is True


def test_access_and_quorum_checks_report_lost_quorum(gluster_cluster, volume_factory, mount_factory):
    volume = volume_factory(VolumeType.REPLICA3)
    mount = mount_factory(volume)
    prepare_access_probe(mount)
    with KillBrick(gluster_cluster, volume, [1, 2], mounts=[mount]):
        report = probe_access(mount, ["read", "write"])
        expecting_ok = check_access(report, {"read": "ok", "write": "ok"})
        quorum = check_client_quorum(mount, expect_met=True)
    assert expecting_ok.passed is False
    assert expecting_ok.observed == {"read": "ENOTCONN", "write": "ENOTCONN"}
    assert report.outcomes[0].errno == errno.ENOTCONN
    assert quorum.passed is False and quorum.observed == "quorum lost"
