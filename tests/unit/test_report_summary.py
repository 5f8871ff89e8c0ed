"""Fault windows from both timeline sources, and plots of unusual timelines."""
from __future__ import annotations

import json
from pathlib import Path

import matplotlib.pyplot as plt

from harness.report import html, plots
from harness.report.summary import build_summary, fault_windows, validate_summary
from harness.timeline import Phase, Timeline
from tests.report_records import write_run


def test_windows_from_the_faults_timeline_file(tmp_path: Path) -> None:
    """Written by harness.timeline.Timeline itself, as faults do during a run."""
    timeline = Timeline(tmp_path / "timeline.jsonl")
    for phase in (Phase.START, Phase.EFFECT, Phase.REVERT, Phase.REVERTED):
        timeline.record("glh1-f1-1", "kill-brick", phase, ["v1:node2:/b1"])
    timeline.record("glh1-f1-2", "partition", Phase.START, ["node1"])
    timeline.record("glh1-f1-2", "partition", Phase.FAILED, ["node1"], error="rule not applied")
    timeline.record("glh1-f1-3", "node-hang", Phase.START, ["node3"])  # never reverted (a crashed run)
    summary = build_summary(tmp_path, run_id="r", provider="local", profile="fast", started=None)
    validate_summary(summary)
    kill, partition, hang = summary["faults"]
    assert kill["fault"] == "kill-brick" and kill["targets"] == ["v1:node2:/b1"]
    assert kill["start"] <= kill["effect"] <= kill["revert_start"] <= kill["end"]
    assert partition["end"] is not None and partition["details"]["failed"] is True and partition["effect"] is None
    assert hang["end"] is None


def test_record_windows_pair_by_test_and_targets() -> None:
    def ev(test: str, target: str, event: str, wall: float) -> dict:
        return {"kind": "timeline", "test": test, "time": wall, "fault": "kill-brick", "targets": [target],
                "event": event, "wall": wall, "mono": wall, "details": {}}

    events = [ev("t1", "b1", "start", 1), ev("t1", "b2", "start", 2), ev("t1", "b2", "revert_confirmed", 3),
              ev("t1", "b1", "effect-confirmed", 4), ev("t1", "b1", "revert_confirmed", 5)]
    windows = fault_windows(events)
    assert [(w["targets"], w["start"], w["effect"], w["end"]) for w in windows] == [
        (["b1"], 1, 4, 5), (["b2"], 2, None, 3)]


def test_plots_cope_with_an_open_fault_and_a_missing_series(tmp_path: Path) -> None:
    run = write_run(tmp_path / "run", [{"id": "N1", "unavailable_s": 9.5, "heal_s": None}])
    (run / "series" / "N1.jsonl").unlink()  # a workload whose series file was never written
    Timeline(run / "timeline.jsonl").record("glh1-f1-9", "node-hang", Phase.START, ["node1"])
    summary = build_summary(run, run_id="r", provider="local", profile="fast", started=None)
    made = plots.render_all(summary, run)
    assert sorted(p.path.name for p in made) == ["N1-heal.png", "N1-latency.png"]
    for p in made:
        assert p.path.read_bytes()[:4] == b"\x89PNG"
    assert json.dumps(summary)  # plain JSON all the way down


def test_a_plot_a_test_drew_itself_is_embedded_in_its_scenario(tmp_path: Path) -> None:
    run = write_run(tmp_path / "run", [{"id": "N1", "unavailable_s": 9.5, "heal_s": None}])
    (run / "plots").mkdir()
    figure = plt.figure(figsize=(1, 1))
    figure.savefig(run / "plots" / "U1-versions.png")
    plt.close(figure)
    summary = build_summary(run, run_id="r", provider="local", profile="fast", started=None)
    made = plots.render_all(summary, run)
    assert [(p.scenario, p.kind) for p in made if p.path.name == "U1-versions.png"] == [("U1", "versions")]
    page = html.render(summary, made)
    assert "id='scenario-U1'" in page and "title='U1-versions.png'" in page


def test_split_brain_counts_come_from_check_results_in_scenario_rows(tmp_path: Path) -> None:
    """Rows made by ScenarioRow.from_result of harness.checks.splitbrain (entries listed in observed),
    and of a composed check (the failing part's result inside evidence); "expected" never counts."""
    from harness.conformance import ScenarioRow
    from harness.results import CheckResult, Recorder, all_passed

    def split_check(entries: list[str]) -> CheckResult:
        return CheckResult("no split brain", not entries, {"split_brain_entries": entries, "eio_reads": []},
                           {"split_brain_entries": ["never counted"]}, {"volume": "v1"})

    recorder = Recorder(tmp_path, "main")
    rows = [ScenarioRow.from_result("S1", "replica2", {}, "f", split_check(["/a", "/b"])),
            ScenarioRow.from_result("S2", "replica2", {}, "f", all_passed([split_check(["/a"])])),
            ScenarioRow.from_result("Q1", "replica3", {}, "f", split_check([]))]
    for row in rows:
        recorder.record("scenario", row.__dict__, test="t")
    metrics = build_summary(tmp_path, run_id="r", provider="local", profile="fast", started=None)["metrics"]
    assert {k: v["split_brain_entries"] for k, v in metrics.items()} == {"Q1": 0, "S1": 2, "S2": 1}


def test_quantile_lines_break_over_a_stall() -> None:
    points = [(t * 0.1, 1.0) for t in range(10)] + [(5.0 + t * 0.1, 2.0) for t in range(10)]
    lines = plots.bucket_quantiles(points, 0.5)
    xs, ys = lines["p50"]
    gap = [x for x, y in zip(xs, ys) if y != y]  # NaN marks the break
    assert gap == [1.0] and ys[0] == 1.0 and ys[-1] == 2.0


def test_a_kubernetes_cluster_is_named_with_its_server_version(tmp_path: Path) -> None:
    """The cluster record a K8sCluster describes (provider, /version's gitVersion, capabilities) reaches
    summary.json and the page; a local cluster's record has no Kubernetes version and shows none."""
    from harness.results import Recorder

    recorder = Recorder(tmp_path / "k8s", "main")
    recorder.record("cluster", {"run_id": "glh1", "nodes": [{"name": "k8s1", "zone": "a", "address": "198.18.0.2"}],
                                "clients": [], "provider": "k8s-local cluster glh1", "kubernetes_version": "v1.20.2",
                                "capabilities": ["network-faults", "pod-faults"], "gluster_version": "glusterfs 10.3"})
    summary = build_summary(tmp_path / "k8s", run_id="r", provider="k8s-local", profile="fast", started=None)
    validate_summary(summary)
    assert summary["cluster"]["kubernetes_version"] == "v1.20.2"
    assert summary["cluster"]["capabilities"] == ["network-faults", "pod-faults"]
    page = html.render(summary, [])
    assert "k8s-local (k8s-local cluster glh1)" in page and "v1.20.2" in page

    Recorder(tmp_path / "local", "main").record("cluster", {"run_id": "glh2", "nodes": [], "clients": [],
                                                           "gluster_version": "glusterfs 10.3"})
    local = build_summary(tmp_path / "local", run_id="r", provider="local", profile="fast", started=None)
    validate_summary(local)
    assert local["cluster"]["kubernetes_version"] is None and "kubernetes" not in html.render(local, [])
