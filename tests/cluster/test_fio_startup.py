"""fio's progress while it runs: "before" begins at fio's first completed operation, however late fio
starts, instead of after a fixed start-up allowance (issue 26: on a loaded machine a 2.2 s "before"
phase held no fio operation)."""
from __future__ import annotations

from harness.faults import KillBrick
from harness.history import FileStore
from harness.volume import VolumeType
from harness.workloads.fio import FileTarget, FioJob, fio_ops_completed, last_json_document, run_fio
from harness.workloads.scenario import PhasePlan, run_phases

# Longer than the old fixed allowance for a FUSE file (1 s) and the "before" phase together.
LATE_START_S = 4
PLAN = PhasePlan(before_s=1.0, startup_s=60.0, fault_s=1.0, after_s=1.0, heal_allowance_s=2.0, heal_timeout_s=60.0)


def test_the_latest_whole_status_is_read_and_a_document_being_written_is_not():
    first = '{\n  "jobs" : [{"read": {"total_ios": 1}}]\n}\n'
    second = '{\n  "jobs" : [{"read": {"total_ios": 7}}]\n}\n'
    assert last_json_document("") is None
    assert last_json_document(first + '{\n  "jobs" : [') == {"jobs": [{"read": {"total_ios": 1}}]}
    assert last_json_document(first + second) == {"jobs": [{"read": {"total_ios": 7}}]}


def test_completed_operations_add_up_to_fio_s_final_report_kept_as_fio_json(gluster_cluster, replica3_mount,
                                                                             tmp_path):
    result = run_fio(gluster_cluster.clients[0], FileTarget(replica3_mount), FioJob("randrw", "8M", 1), tmp_path)
    assert fio_ops_completed(tmp_path) == result.read.ios + result.write.ios > 0
    assert result.argv.count("--status-interval=250ms") == 1 and (result.out_dir / "fio.json").is_file()


def test_before_holds_fio_operations_when_fio_starts_late(gluster_cluster, volume_factory, mount_factory, tmp_path):
    volume = volume_factory(VolumeType.REPLICA3)
    mount = mount_factory(volume)
    out, history = tmp_path / "fio", tmp_path / "history"
    out.mkdir()
    history.mkdir()

    def workload(runtime_s: int):
        job = FioJob("randrw", "8M", runtime_s, start_delay_s=LATE_START_S)
        return run_fio(gluster_cluster.clients[0], FileTarget(mount), job, out).series.values()

    fault = KillBrick(gluster_cluster, volume, bricks=(0,), mounts=[mount])
    report = run_phases("file", workload, {"c1": FileStore(history)}, None, volume, fault, PLAN,
                        measured=lambda: fio_ops_completed(out))
    before = report.phases[0]
    assert before.name == "before"
    for name in report.latency:
        stats = report.phase(name, "before")
        assert stats.count > 0, f"{name}: the 'before' phase ({before.start:.3f}-{before.end:.3f}) held no operation"
    first_op = min(p.t for s in report.series for p in s.points)
    # fio's clat log says when its first I/O completed: "before" did not begin earlier.
    assert before.start >= first_op - 0.001
