"""Each test's latency panel shades only its own faults: not another test's of the same scenario,
not another scenario's, not another xdist worker's, even when they overlap in time. Checked on the
windows the plotting function draws (the faults handed to each panel and the red spans it adds)."""
from __future__ import annotations

from pathlib import Path

import pytest

from harness.report import plots
from harness.report.summary import build_summary, validate_summary

# Each test records its fault on a Timeline file in the run folder, as faults do on the session's
# (harness.faults.base), and a workload whose operations span +-50 s around it: every test's
# operations overlap every other test's fault in time, whatever order or worker they run in.
INNER = """
import json
import os
import time

import pytest

from harness.timeline import Phase, Timeline


@pytest.mark.parametrize("scenario, kind, target", [("N1", "node-hang", "node2"), ("N1", "node-hang", "node3"),
                                                    ("Z1", "partition", "zone-b")])
def test_fault(run_dir, recorder, request, scenario, kind, target):
    now = time.time()
    series = f"series/{scenario}-{target}.jsonl"
    (run_dir.path / "series").mkdir(exist_ok=True)
    (run_dir.path / series).write_text("".join(
        json.dumps({"t": now - 50 + i, "latency_ms": 1.0, "op": "write", "ok": True}) + "\\n" for i in range(100)))
    timeline = Timeline(run_dir.path / f"timeline-{os.environ.get('PYTEST_XDIST_WORKER', 'main')}.jsonl")
    for phase in (Phase.START, Phase.EFFECT, Phase.REVERT, Phase.REVERTED):
        timeline.record(f"{scenario}-{target}-{os.getpid()}", kind, phase, [target])
    recorder.record("workload", {"scenario": scenario, "name": f"probe-{target}", "access": "file", "unit": "ms",
                                 "series_file": series, "phases": {}, "iops": None, "unavailability": []},
                    test=request.node.nodeid)
"""
NODE = "test_faults.py::test_fault[{}]"
OWN = {NODE.format("N1-node-hang-node2"): [("node-hang", ("node2",))],
       NODE.format("N1-node-hang-node3"): [("node-hang", ("node3",))],
       NODE.format("Z1-partition-zone-b"): [("partition", ("zone-b",))]}


@pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["single", "xdist"])
def test_each_panel_shades_only_its_own_tests_faults(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch,
                                                     tmp_path: Path, workers: list[str]) -> None:
    pytester.makepyfile(test_faults=INNER)
    reports = pytester.path / "reports"
    pytester.runpytest_subprocess("-p", "no:cacheprovider", "--report-dir", str(reports),
                                  *workers).assert_outcomes(passed=3)
    folder = (reports / "latest").resolve()
    summary = build_summary(folder, run_id="r", provider="local", profile="fast", started=None)
    validate_summary(summary)

    drawn: dict[str, tuple[list, list]] = {}
    draw = plots._draw_latency

    def spy(ax, w, points, faults, heals, t0):  # noqa: ANN001, ANN202
        spans: list[tuple[float, float]] = []
        axvspan = ax.axvspan

        def record_span(x0: float, x1: float, **kw: object) -> object:
            if kw.get("color") == "#ffb3b3":  # the fault shading (heal and unavailability have their own colours)
                spans.append((x0, x1))
            return axvspan(x0, x1, **kw)

        ax.axvspan = record_span
        draw(ax, w, points, faults, heals, t0)
        drawn[w["test"]] = ([(f["fault"], tuple(f["targets"])) for f in faults], spans)

    monkeypatch.setattr(plots, "_draw_latency", spy)
    for scenario in ("N1", "Z1"):
        assert plots.latency_timeline(summary, folder, scenario, tmp_path) is not None
    assert {test: faults for test, (faults, _) in drawn.items()} == OWN
    assert all(len(spans) == 1 for _, spans in drawn.values()), drawn
    assert {(f["test"], f["fault_id"].rsplit("-", 1)[0]) for f in summary["faults"]} == {
        (NODE.format("N1-node-hang-node2"), "N1-node2"), (NODE.format("N1-node-hang-node3"), "N1-node3"),
        (NODE.format("Z1-partition-zone-b"), "Z1-zone-b")}, "each window names its test and fault id"


def test_a_window_without_a_test_is_placed_by_time_and_process() -> None:
    """Timelines written before events named their test: a panel shades such a window when it
    overlaps the panel's operations and no other process recorded it."""
    def window(pid: int | None, start: float) -> dict:
        return {"fault": "kill-brick", "targets": [f"pid{pid}@{start:g}"], "test": None, "pid": pid, "start": start,
                "effect": None, "revert_start": None, "end": start + 5}

    summary = {"faults": [window(10, 100), window(11, 100), window(None, 100), window(10, 500)]}
    workload = {"test": "t::a", "pid": 10}
    assert [f["targets"] for f in plots.panel_faults(summary, workload, (90.0, 200.0))] == [["pid10@100"],
                                                                                            ["pidNone@100"]]
    assert plots.panel_faults(summary, workload, None) == []
