"""The run Timeline: events with both clocks, JSON lines round trip, fault windows, active set."""
from __future__ import annotations

import json

from harness.timeline import Event, Phase, Timeline


def test_events_carry_both_clocks_kind_and_targets():
    tl = Timeline()
    e = tl.record("glh0-f1-1", "node-hang", Phase.START, ["node2"], params={"node": "node2"})
    assert e.phase == "start" and e.targets == ("node2",) and e.kind == "node-hang"
    assert e.wall > 1e9 and e.mono > 0
    assert e.details == {"params": {"node": "node2"}}


def test_jsonl_mirror_and_round_trip(tmp_path):
    path = tmp_path / "timeline.jsonl"
    tl = Timeline(path)
    tl.record("f1", "latency", Phase.START, ["node1"])
    tl.record("f1", "latency", Phase.EFFECT, ["node1"], measured_median_ms=5.2)
    lines = path.read_text().splitlines()
    assert len(lines) == 2 and json.loads(lines[1])["details"]["measured_median_ms"] == 5.2
    loaded = Timeline.load(path)
    assert loaded.events == tl.events
    assert Event.from_json(tl.events[0].to_json()) == tl.events[0]


def test_windows_span_start_to_revert_confirmed_and_stay_open_while_active():
    tl = Timeline()
    tl.record("a", "kill-brick", Phase.START, ["v1:node1"])
    tl.record("a", "kill-brick", Phase.EFFECT, ["v1:node1"])
    tl.record("b", "latency", Phase.START, ["node2"])
    tl.record("a", "kill-brick", Phase.REVERT, ["v1:node1"])
    tl.record("a", "kill-brick", Phase.REVERTED, ["v1:node1"])
    windows = {w.fault_id: w for w in tl.windows()}
    assert windows["a"].end_wall is not None and windows["a"].end_mono >= windows["a"].start_mono
    assert windows["b"].end_wall is None  # still active: a report shades it to the end


def test_active_faults_newest_first():
    tl = Timeline()
    tl.activate("a", "fault-a")
    tl.activate("b", "fault-b")
    assert tl.active_faults() == ["fault-b", "fault-a"]
    tl.deactivate("b")
    tl.deactivate("b")  # idempotent
    assert tl.active_faults() == ["fault-a"]


def test_events_and_windows_name_the_test_and_process_that_recorded_them(monkeypatch):
    import os

    import harness.timeline as timeline

    monkeypatch.setattr(timeline, "_current_test", None)
    tl = Timeline()
    tl.record("a", "kill-brick", Phase.START)
    timeline.set_current_test("suites/test_x.py::test_y")
    tl.record("b", "partition", Phase.START)
    outside, inside = tl.events
    assert (outside.test, inside.test) == (None, "suites/test_x.py::test_y")
    assert inside.pid == os.getpid()
    assert Event.from_json(inside.to_json()) == inside
    assert Event.from_json('{"fault_id": "c", "kind": "k", "phase": "start", "targets": [], "wall": 1, "mono": 1, '
                           '"details": {}}').test is None  # files written before events named their test
    assert {w.fault_id: w.test for w in tl.windows()} == {"a": None, "b": "suites/test_x.py::test_y"}
