"""A run's conformance matrix beside another provider's run (--beside): rows matched by scenario,
volume and fault, a verdict column per provider, rows one run lacks shown as not run."""
from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import pytest

from harness.conformance import ScenarioRow
from harness.report.baseline import load_summary
from harness.report.beside import NOT_RUN, format_beside
from harness.report.build import SummaryFile, build_run_report
from harness.results import Recorder

TEST = {"nodeid": "t::x", "outcome": "passed", "duration_s": 1.0, "message": None}


def run_with(folder: Path, provider: str, rows: list[tuple[str, str, str, str]], beside: SummaryFile | None = None):
    recorder = Recorder(folder, "main")
    for scenario, volume, fault, verdict in rows:
        recorder.record("scenario", asdict(ScenarioRow(scenario, volume, {}, fault, "e", "o", verdict)), "t::x")
    return build_run_report(folder, run_id=folder.name, provider=provider, profile="fast", started=None,
                            tests=[TEST], thresholds=None, beside=beside)


LOCAL = [("Q1", "replica3", "kill brick(s) 2", "pass"), ("SQ1", "replica3", "kill glusterd on node2 and node3", "pass"),
         ("Z2", "replica3", "5 ms RTT between zones (client in zone-a)", "pass")]


def test_rows_of_both_runs_side_by_side_with_what_one_did_not_run(tmp_path: Path) -> None:
    local = run_with(tmp_path / "local-run", "local", LOCAL)
    k8s_rows = [LOCAL[0], (*LOCAL[1][:3], "fail"), ("H1", "replica3", "kill the last brick", "pass")]
    k8s = run_with(tmp_path / "k8s-run", "k8s-local", k8s_rows,
                   SummaryFile(local.summary_path, load_summary(local.summary_path, "--beside")))
    section = load_summary(k8s.summary_path)["beside"]  # the schema holds it
    assert section["runs"] == [{"provider": "k8s-local", "run_id": "k8s-run"}, {"provider": "local", "run_id": "local-run"}]
    assert {(r["scenario"], tuple(r["verdicts"])) for r in section["rows"]} == {
        ("Q1", ("pass", "pass")), ("SQ1", ("fail", "pass")), ("H1", ("pass", NOT_RUN)), ("Z2", (NOT_RUN, "pass"))}
    # Negative control: the one row both ran with different verdicts is counted, not hidden.
    assert section["differing"] == 1
    lines = format_beside(section)
    assert lines[0].split()[:5] == ["scenario", "volume", "fault", "k8s-local", "(k8s-run)"]
    assert lines[-1] == "1 row(s) with different verdicts where both ran"
    page = k8s.html_path.read_text()
    assert "Beside local (local-run)" in page and "not run" in page


def test_bad_beside_file_is_a_usage_error_before_anything_runs(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_x="def test_x():\n    pass\n")
    reports = pytester.path / "reports"
    missing = pytester.path / "reports" / "latest-local"
    result = pytester.runpytest_subprocess("--report-dir", str(reports), "--beside", str(missing))
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"ERROR: --beside file {missing} does not exist*"])
    assert not reports.exists()
