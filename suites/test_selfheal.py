"""Self-heal (SCENARIOS.md H1, H2): a brick killed during writes heals to identical replicas; a brick
that returns empty refuses to start and is recovered by reset-brick or replace-brick."""
from __future__ import annotations

import threading

import pytest

from harness import Capability
from harness.checks import check_bricks_consistent, check_heal
from harness.faults import BrickLoss, KillBrick
from harness.results import CheckResult, all_passed
from harness.volume import VolumeType

pytestmark = [pytest.mark.selfheal, pytest.mark.requires(Capability.NODE_PROCESSES)]  # bricks killed inside their node

REPLICATED = [VolumeType.REPLICA2, VolumeType.REPLICA3, VolumeType.ARBITER, VolumeType.DISTRIBUTED_REPLICATE]
H1_WRITES_DURING_FAULT = 200
H1_BATCH = 20  # files per exec in the client host (a pod exec costs ~0.1 s)


class Writer(threading.Thread):
    """Writes numbered files in the client host until stopped; the fault lands while it runs. A failed
    file is written again (same name) in the next batch."""

    def __init__(self, mount) -> None:
        super().__init__(daemon=True)
        self.files, self.stop, self.written, self.errors = mount.files.sub("h1"), threading.Event(), 0, []
        mount.files.mkdir("h1")

    def run(self) -> None:
        while not self.stop.is_set():
            batch = {f"f{n:05d}": b"x" * 8192 for n in range(self.written, self.written + H1_BATCH)}
            try:
                written, failed = self.files.write_many(batch, fsync=False)  # as fast as write-behind takes them
            except TimeoutError as exc:  # the client gave no answer: the batch's outcome is unknown
                written, failed = 0, {"error": exc.strerror}
            self.written += written
            if failed:
                self.errors.append(failed["error"])


@pytest.mark.parametrize("kind", REPLICATED, ids=lambda k: k.value)
def test_h1_brick_killed_during_writes_heals_to_identical_replicas(kind, gluster_cluster, volume_factory,
                                                                   mount_factory, profile, conform, record_heal):
    options = {"cluster.quorum-type": "none"} if kind is VolumeType.REPLICA2 else {"cluster.quorum-type": "auto"}
    volume = volume_factory(kind, options)
    mount = mount_factory(volume)
    writer = Writer(mount)
    writer.start()
    try:
        with KillBrick(gluster_cluster, volume, [volume.bricks[-1].index], mounts=[mount],
                       timeout=profile.fault_timeout_s):
            start = writer.written
            # the fault lasts until the client has written through it: a backlog to heal. The writer
            # stops before the revert: unpaced through the restart it wrote 270-1160 more files,
            # depending on load, and the heal of those outlasted the fast profile's 60 s heal gate.
            while writer.written < start + H1_WRITES_DURING_FAULT and writer.is_alive():
                writer.stop.wait(0.05)
            writer.stop.set()
            writer.join()
    finally:
        writer.stop.set()
        writer.join()
    heal = check_heal(volume, profile.heal_timeout_s)
    record_heal("H1", volume, heal)
    writes = CheckResult("writes during the fault succeed", not writer.errors,
                         f"{writer.written} files written, {len(writer.errors)} failed"
                         f"{': ' + ', '.join(writer.errors[:5]) if writer.errors else ''}", "all ok",
                         {"files_written": writer.written})
    conform("H1", volume, "kill the last brick during writes, then start force",
            all_passed([writes, heal, check_bricks_consistent(volume)]))


# GlusterFS 10.3 refuses an empty brick already in the index translator (its .glusterfs is gone);
# older releases said "trusted.glusterfs.volume-id is absent" from posix. Either is a refusal.
REFUSALS = ("trusted.glusterfs.volume-id is absent", "0-graph: init failed")


def brick_refused_to_start(brick) -> CheckResult:
    log_name = brick.path.strip("/").replace("/", "-")
    lines = brick.node.run(["sh", "-c", f"grep -h -e ' E ' /var/log/glusterfs/bricks/{log_name}.log || true"]).stdout
    found = [line for line in lines.splitlines() if any(r in line for r in REFUSALS)]
    return CheckResult("empty brick does not start", bool(found), found[-1] if found else "no refusal in the brick log",
                       f"brick log shows one of {REFUSALS}", {"brick": brick.name, "errors": lines.splitlines()[-6:]})


@pytest.mark.parametrize("method", ["reset-brick", "replace-brick"])
def test_h2_empty_brick_refuses_to_start_and_recovers_by_full_heal(method, gluster_cluster, volume_factory,
                                                                  mount_factory, profile, conform, record_heal):
    volume = volume_factory(VolumeType.REPLICA3, {"cluster.quorum-type": "auto"})
    mount = mount_factory(volume)
    written, failed = mount.files.write_many({f"g{i}": bytes([i]) * 4096 for i in range(30)})
    assert failed is None, f"writing g{written} before the fault failed: {failed}"
    with BrickLoss(gluster_cluster, volume, 1, heal_timeout=profile.heal_timeout_s, mounts=[mount],
                   timeout=profile.fault_timeout_s) as loss:
        refused = brick_refused_to_start(loss.brick)
        heal_seconds = loss.recover(method)
    heal = check_heal(volume, profile.heal_timeout_s)
    record_heal("H2", volume, CheckResult(heal.name, heal.passed, heal.observed, heal.expected,
                                          {**heal.evidence, "heal_seconds": round(heal_seconds, 3)}))
    restored = [name for name in mount.files.listdir() if name.startswith("g")]
    files = CheckResult("every file restored", len(restored) == 30, f"{len(restored)} files", "30 files")
    conform("H2", volume, f"brick 1 returns empty; {method}, full heal",
            all_passed([refused, heal, files, check_bricks_consistent(volume)]))
