"""The command-line side of reports: `python -m harness compare A B` and `python -m harness report RUN_DIR`."""
from __future__ import annotations

import json
from pathlib import Path

from ..errors import ConfigError
from .baseline import compare, format_table, load_summary
from .build import SummaryFile, build_run_report, regression_settings
from .gates import load_thresholds
from .junit import outcomes_from_junit
from .summary import SUMMARY_FILE, ran_no_tests


def summary_path(path: Path) -> Path:
    """A summary.json given itself or its run folder."""
    return path / SUMMARY_FILE if path.is_dir() else path


def compare_command(baseline: Path, current: Path, regression_pct: float | None, thresholds: Path | None,
                    profile: str | None) -> int:
    """Print the comparison table; 1 when anything regressed, 0 otherwise."""
    before = load_summary(summary_path(baseline), "baseline")
    after = load_summary(summary_path(current), "current")
    limits = load_thresholds(thresholds, profile or after["profile"]) if (thresholds or profile or after["profile"]) else None
    pct, floors = regression_settings(limits, regression_pct)
    rows = compare(before, after, pct, floors)
    print(f"baseline {before['run_id']} -> current {after['run_id']}, regression beyond {pct:g} %")
    for line in format_table(rows):
        print(line)
    regressions = [r for r in rows if r.regressed]
    # A run without tests measured nothing: comparing against it (or with it) proves nothing.
    empty = [f"{role} run {s['run_id']} ran no test" for role, s in (("baseline", before), ("current", after))
             if ran_no_tests(s)]
    for line in empty:
        print(line)
    failed = bool(regressions or empty)
    print(f"{len(regressions)} regression(s) of {len(rows)} compared: {'FAIL' if failed else 'PASS'}")
    return 1 if failed else 0


def report_command(run_dir: Path, thresholds: Path | None, profile: str | None, baseline: Path | None,
                   regression_pct: float | None) -> int:
    """Rebuild a run folder's reports from its records; 1 when the verdict is fail."""
    run_dir = run_dir.resolve()
    if not (run_dir / "records").is_dir() and not (run_dir / SUMMARY_FILE).is_file():  # no records: none made
        raise ConfigError(f"{run_dir} has no records/ folder; pass a run folder such as reports/latest")
    previous = _previous_summary(run_dir)
    if previous and previous.get("tests"):
        tests = previous["tests"]
    elif (run_dir / "junit.xml").is_file():
        tests = outcomes_from_junit(run_dir / "junit.xml")
    else:
        tests = []
    profile = profile or (previous or {}).get("profile") or "fast"
    base = SummaryFile(baseline, load_summary(summary_path(baseline))) if baseline else None
    report = build_run_report(
        run_dir, run_id=run_dir.name, provider=(previous or {}).get("provider", "unknown"), profile=profile,
        started=(previous or {}).get("started"), tests=tests, thresholds=load_thresholds(thresholds, profile),
        baseline=base, regression_pct=regression_pct, cluster=(previous or {}).get("cluster"))
    for line in report.failure_lines():
        print(line)
    verdict = report.summary["verdict"]
    print(f"verdict {verdict['result'].upper()}" + (f": {len(verdict['reasons'])} reason(s)" if verdict["reasons"] else ""))
    print(f"report: {report.html_path}")
    return 0 if verdict["result"] == "pass" else 1  # "fail" and "no tests"


def _previous_summary(run_dir: Path) -> dict | None:
    try:
        return json.loads((run_dir / SUMMARY_FILE).read_text())
    except (FileNotFoundError, ValueError):
        return None
