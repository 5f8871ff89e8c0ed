"""The history checker (pure, with negative controls) and real history clients over FUSE."""
from __future__ import annotations

import threading

import pytest

from harness.history import (
    FINAL_PROCESS, FileStore, History, HistoryClient, Op, OpType, check_history, load_history, read_back, run_clients,
)
from harness.results import result_words
from harness.volume import VolumeType


def make_ops(rows: list[tuple]) -> list[Op]:
    """rows: (process, type, f, key, value, time[, error]) in history order."""
    return [Op(i, r[0], OpType(r[1]), r[2], r[3], r[4], r[5], r[6] if len(r) > 6 else None) for i, r in enumerate(rows)]


CLEAN = [
    ("a", "invoke", "write", "a-1", "v1", 1.0), ("a", "ok", "write", "a-1", "v1", 1.1),
    ("b", "invoke", "read", "a-1", None, 1.0), ("b", "ok", "read", "a-1", None, 1.05),  # before the ack: fine
    ("b", "invoke", "read", "a-1", None, 1.15), ("b", "ok", "read", "a-1", None, 1.2),  # after it: stale
    ("b", "invoke", "read", "a-1", None, 1.3), ("b", "ok", "read", "a-1", "v1", 1.4),
    (FINAL_PROCESS, "invoke", "read", "a-1", None, 2.0), (FINAL_PROCESS, "ok", "read", "a-1", "v1", 2.1),
]


def test_a_clean_history_is_valid_and_measures_visibility():
    verdict = check_history(make_ops(CLEAN))
    assert verdict.valid is True, verdict
    assert verdict.lost == [] and verdict.phantom == [] and verdict.unavailability == []
    assert verdict.visibility["measured"] == 1
    assert verdict.visibility["max_s"] == pytest.approx(0.3)  # acked at 1.1, first seen by b at 1.4
    assert verdict.visibility["stale_reads"] == 1
    assert verdict.to_check_result().passed is True
    # The row carries the operation counts, not only the anomaly counts.
    assert result_words(verdict.to_check_result().to_dict())[1] == \
        "no acknowledged write lost: ops (ok 5, fail 0, info 0), lost 0, phantom 0, unknown 0"


def test_negative_control_lost_acknowledged_write_is_reported():
    rows = CLEAN[:-1] + [(FINAL_PROCESS, "ok", "read", "a-1", None, 2.1)]
    verdict = check_history(make_ops(rows))
    assert verdict.valid is False
    assert [(w["key"], w["value"], w["final_read"]) for w in verdict.lost] == [("a-1", "v1", None)]
    result = verdict.to_check_result()
    assert result.passed is False and result.observed["lost"] == 1


def test_negative_control_phantom_read_is_reported():
    rows = CLEAN + [("b", "invoke", "read", "a-2", None, 2.2), ("b", "ok", "read", "a-2", "never-written", 2.3)]
    verdict = check_history(make_ops(rows))
    assert verdict.valid is False
    assert verdict.phantom == [{"process": "b", "key": "a-2", "value": "never-written", "time": 2.3}]
    assert verdict.lost == []


def test_negative_control_unavailability_window_is_reported_with_its_errors():
    rows = [
        ("a", "invoke", "write", "a-1", "v1", 1.0), ("a", "ok", "write", "a-1", "v1", 1.1),
        ("a", "invoke", "write", "a-2", "v2", 2.0), ("a", "fail", "write", "a-2", "v2", 2.1, "ENOTCONN"),
        ("a", "invoke", "write", "a-3", "v3", 2.2), ("a", "info", "write", "a-3", "v3", 4.5, "EIO"),
        ("a", "invoke", "write", "a-4", "v4", 4.6), ("a", "fail", "write", "a-4", "v4", 4.7, "ENOTCONN"),
        ("a", "invoke", "write", "a-5", "v5", 5.0), ("a", "ok", "write", "a-5", "v5", 5.1),
        # a stall: an ok write that took 3 s is unavailability too
        ("a", "invoke", "write", "a-6", "v6", 6.0), ("a", "ok", "write", "a-6", "v6", 9.0),
        (FINAL_PROCESS, "invoke", "read", "a-1", None, 10.0), (FINAL_PROCESS, "ok", "read", "a-1", "v1", 10.1),
        (FINAL_PROCESS, "invoke", "read", "a-5", None, 10.2), (FINAL_PROCESS, "ok", "read", "a-5", "v5", 10.3),
        (FINAL_PROCESS, "invoke", "read", "a-6", None, 10.4), (FINAL_PROCESS, "ok", "read", "a-6", "v6", 10.5),
    ]
    verdict = check_history(make_ops(rows))
    first, second = verdict.unavailability
    assert (first.process, first.start, first.end, first.closed) == ("a", 2.0, 4.7, True)
    assert first.errors == {"ENOTCONN": 2, "EIO": 1}
    assert first.duration_s == pytest.approx(2.7)
    assert (second.start, second.end, second.closed) == (6.0, 9.0, True)  # the late ok is progress
    assert second.errors == {"stalled >1s": 1}
    # Failed and unknown writes are not lost writes: only acknowledged ones count.
    assert verdict.valid is True and verdict.lost == []


def test_slow_successes_in_a_row_are_separate_windows_failures_before_one_join_it():
    rows = [
        # three ok writes of 1.5-2 s each (S3 during a heal): the client progressed three times
        ("a", "invoke", "write", "a-1", "v1", 1.0), ("a", "ok", "write", "a-1", "v1", 2.5),
        ("a", "invoke", "write", "a-2", "v2", 2.7), ("a", "ok", "write", "a-2", "v2", 4.7),
        ("a", "invoke", "write", "a-3", "v3", 4.9), ("a", "ok", "write", "a-3", "v3", 6.6),
        # failures and then a stalled success: no progress from 7.0 until 12.0
        ("a", "invoke", "write", "a-4", "v4", 7.0), ("a", "fail", "write", "a-4", "v4", 7.1, "ENOTCONN"),
        ("a", "invoke", "write", "a-5", "v5", 7.2), ("a", "ok", "write", "a-5", "v5", 12.0),
        # a failure the history ends in: an open window
        ("a", "invoke", "write", "a-6", "v6", 12.2), ("a", "info", "write", "a-6", "v6", 13.0, "EIO"),
    ]
    windows = check_history(make_ops(rows)).unavailability
    assert [(w.start, w.end, w.closed) for w in windows] == [
        (1.0, 2.5, True), (2.7, 4.7, True), (4.9, 6.6, True), (7.0, 12.0, True), (12.2, 13.0, False)]
    assert windows[3].errors == {"ENOTCONN": 1, "stalled >1s": 1}
    assert max(w.duration_s for w in windows) == pytest.approx(5.0)


def test_a_failed_final_read_makes_the_verdict_unknown_not_passed():
    rows = CLEAN[:-1] + [(FINAL_PROCESS, "fail", "read", "a-1", None, 2.1, "ENOTCONN")]
    verdict = check_history(make_ops(rows))
    assert verdict.valid is None
    assert verdict.unknown[0]["reason"] == "ENOTCONN"


def test_a_history_without_read_back_cannot_pass():
    verdict = check_history(make_ops(CLEAN[:8]))
    assert verdict.valid is None
    assert any("no final read-back" in n for n in verdict.notes)


def test_a_malformed_history_gives_unknown_instead_of_a_crash():
    verdict = check_history([object()])  # type: ignore[list-item]
    assert verdict.valid is None and verdict.notes[0].startswith("checker error")


def test_history_round_trips_through_json_lines(tmp_path):
    history = History(tmp_path / "h.jsonl")
    inv = history.invoke("a", "write", "a-1", "v1")
    history.complete(inv, OpType.OK)
    pending = history.invoke("a", "write", "a-2", "v2")
    history.close()  # a pending op becomes info
    ops = load_history(tmp_path / "h.jsonl")
    assert ops == history.ops
    assert ops[-1].type is OpType.INFO and ops[-1].key == "a-2" and pending.index == 2
    assert check_history(ops).to_dict() == check_history(history.ops).to_dict()


def test_real_file_clients_on_two_hosts_lose_nothing(gluster_cluster, volume_factory, mount_factory, run_dir):
    volume = volume_factory(VolumeType.REPLICA3)
    mounts = [mount_factory(volume, c) for c in gluster_cluster.clients[:2]]
    for m in mounts:
        (m / "history").mkdir(exist_ok=True)
    stores = {f"c{i}": FileStore(m / "history") for i, m in enumerate(mounts)}
    path = run_dir.path / "history-file-test.jsonl"
    run = run_clients(stores, duration_s=2.0, path=path)
    verdict = check_history(load_history(path))
    assert verdict.valid is True, verdict.to_check_result().explain()
    assert run.stuck_clients == [] and {op.process for op in run.ops if op.f == "write"} == {"c0", "c1"}
    # Each client saw the other's writes through its own mount.
    assert verdict.visibility["measured"] > 0


def test_real_negative_control_a_file_removed_behind_the_clients_back_is_a_lost_write(
        gluster_cluster, volume_factory, mount_factory, tmp_path):
    volume = volume_factory(VolumeType.REPLICA3)
    mount = mount_factory(volume)
    (mount / "h").mkdir()
    store = FileStore(mount / "h")
    history, stop = History(tmp_path / "h.jsonl"), threading.Event()
    client = HistoryClient("c0", store, history, [], stop)
    client.start()
    while sum(1 for op in history.ops if op.type is OpType.OK) < 5:
        stop.wait(0.01)
    stop.set()
    client.join(30)
    acked = next(op for op in history.ops if op.type is OpType.OK and op.f == "write")
    (mount / "h" / acked.key).unlink()  # the "storage" loses an acknowledged write
    read_back(history, store)
    history.close()
    verdict = check_history(history.ops)
    assert verdict.valid is False
    assert [w["key"] for w in verdict.lost] == [acked.key]
