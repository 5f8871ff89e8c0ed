"""Baselines: comparison logic on summaries built from contract records, bad baseline files, and
`python -m harness compare`. (A regression failing a real pytest run: test_report.py.)"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from harness.errors import ConfigError
from harness.report.baseline import compare, format_table, load_summary
from harness.report.build import build_run_report
from harness.report.gates import load_thresholds
from harness.runner import run
from tests.report_records import phase, write_run


def summary_file(folder: Path, scenarios: list[dict]) -> Path:
    """A complete summary.json, built the way the plugin builds it."""
    write_run(folder, scenarios)
    report = build_run_report(folder, run_id=folder.name, provider="local", profile="fast", started=None,
                              tests=[{"nodeid": "t::x", "outcome": "passed", "duration_s": 1.0, "message": None}],
                              thresholds=load_thresholds(None, "fast"))
    return report.summary_path


BASE = [{"id": "Q1", "phases": {"before": phase(1.0, 10.0), "during_fault": phase(3.0, 40.0)}, "iops": 500.0,
         "heal_s": 20.0}]


def rows_by_metric(rows: list) -> dict:
    return {(r.scenario, r.metric): r for r in rows}


def test_unchanged_run_has_no_regression(tmp_path: Path) -> None:
    a = load_summary(summary_file(tmp_path / "a", BASE))
    b = load_summary(summary_file(tmp_path / "b", BASE))
    rows = compare(a, b, 20.0)
    assert len(rows) == 6  # p50 and p99 of two phases, IOPS, heal time
    assert not any(r.regressed for r in rows)
    assert all(r.change_pct == 0 for r in rows)


def test_worse_latency_heal_time_and_iops_regress_beyond_the_percentage(tmp_path: Path) -> None:
    worse = [{"id": "Q1", "phases": {"before": phase(1.1, 11.5), "during_fault": phase(3.0, 80.0)}, "iops": 300.0,
              "heal_s": 31.0}]
    rows = rows_by_metric(compare(load_summary(summary_file(tmp_path / "a", BASE)),
                                  load_summary(summary_file(tmp_path / "b", worse)), 20.0))
    assert rows[("Q1", "fio-randwrite-file during_fault p99_ms")].regressed  # +100 %
    assert rows[("Q1", "fio-randwrite-file iops")].regressed  # -40 %
    assert rows[("Q1", "heal_s")].regressed  # +55 %
    assert not rows[("Q1", "fio-randwrite-file before p99_ms")].regressed  # +15 %: within 20 %
    assert not rows[("Q1", "fio-randwrite-file before p50_ms")].regressed  # +10 %, and only 0.1 ms
    assert rows[("Q1", "heal_s")].line == "baseline Q1 heal_s REGRESSION: 20 -> 31 (+55.0 %)"


def test_improvements_and_tiny_absolute_changes_do_not_regress(tmp_path: Path) -> None:
    better = [{"id": "Q1", "phases": {"before": phase(1.9, 5.0), "during_fault": phase(2.0, 20.0)}, "iops": 900.0,
               "heal_s": 10.0}]
    rows = compare(load_summary(summary_file(tmp_path / "a", BASE)), load_summary(summary_file(tmp_path / "b", better)),
                   20.0)
    # p50 before: 1.0 -> 1.9 ms is +90 % but under the 2 ms floor of noise
    assert not any(r.regressed for r in rows)


def test_scenarios_present_in_only_one_run_are_listed_not_failed(tmp_path: Path) -> None:
    other = [{"id": "Z1", "phases": {"before": phase(1.0, 10.0)}}]
    rows = compare(load_summary(summary_file(tmp_path / "a", BASE)), load_summary(summary_file(tmp_path / "b", other)),
                   20.0)
    assert not any(r.regressed for r in rows)
    table = "\n".join(format_table(rows))
    assert "missing" in table and "new" in table


@pytest.mark.parametrize("content, problem", [
    (None, "does not exist; pass the summary.json of an earlier run"),
    ("{not json", "is not valid JSON"),
    ("[1, 2]", "is not a run summary: expected a JSON object, got list"),
    ('{"run_id": "x"}', "is not a run summary: summary does not follow summary.schema.json"),
])
def test_bad_baseline_file_names_the_file_and_the_problem(tmp_path: Path, content: str | None, problem: str) -> None:
    path = tmp_path / "baseline.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(ConfigError) as err:
        load_summary(path)
    assert f"baseline file {path}" in str(err.value) and problem in str(err.value)


def test_bad_baseline_is_a_usage_error_before_anything_runs(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_x="def test_x():\n    pass\n")
    reports = pytester.path / "reports"
    bad = pytester.path / "old-summary.json"
    bad.write_text('{"run_id": "x", "tests": []}')
    result = pytester.runpytest_subprocess("--report-dir", str(reports), "--baseline", str(bad))
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"ERROR: baseline file {bad} is not a run summary: summary does not follow "
                                 f"summary.schema.json at (top level): *"])
    missing = pytester.path / "reports" / "old" / "summary.json"
    result = pytester.runpytest_subprocess("--report-dir", str(reports), "--baseline", str(missing))
    result.stderr.fnmatch_lines([f"ERROR: baseline file {missing} does not exist*"])
    assert not reports.exists()


def test_compare_command_prints_the_table_and_fails_on_regression(tmp_path: Path) -> None:
    a = summary_file(tmp_path / "a", BASE)
    b = summary_file(tmp_path / "b", [{**BASE[0], "heal_s": 45.0}])
    same = run([sys.executable, "-m", "harness", "compare", str(a), str(a.parent)], timeout=60, check=False)
    assert same.returncode == 0
    assert same.stdout.splitlines()[-1] == "0 regression(s) of 6 compared: PASS"
    worse = run([sys.executable, "-m", "harness", "compare", str(a), str(b), "--regression-pct", "50"], timeout=60,
                check=False)
    assert worse.returncode == 1
    lines = worse.stdout.splitlines()
    assert lines[0] == "baseline a -> current b, regression beyond 50 %"
    assert lines[1].split() == ["scenario", "metric", "baseline", "current", "change", "verdict"]
    assert [line.split() for line in lines if "heal_s" in line] == [["Q1", "heal_s", "20", "45", "+125.0", "%", "REGRESSION"]]
    assert lines[-1] == "1 regression(s) of 6 compared: FAIL"
    bad = run([sys.executable, "-m", "harness", "compare", str(tmp_path / "nope.json"), str(b)], timeout=60, check=False)
    assert bad.returncode == 2 and f"baseline file {tmp_path / 'nope.json'} does not exist" in bad.stderr
    assert json.loads(b.read_text())["baseline"] is None  # compare only reads
