"""Build every report file of a run folder: summary.json, plots/, report.html, with gates and baseline.

Called by the plugin at session end and by `python -m harness report RUN_DIR` offline; both give
the same files for the same records.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..rundir import RunDir
from . import html, plots
from .baseline import DEFAULT_REGRESSION_PCT, Row, baseline_report, compare
from .beside import beside_section
from .gates import GateResult, Thresholds, evaluate, gate_report
from .summary import NO_TESTS, NO_TESTS_REASON, SUMMARY_FILE, attach_verdict, build_summary, validate_summary


@dataclass(frozen=True)
class SummaryFile:
    """An earlier run's summary.json (a baseline, or another provider's run shown beside this one)."""

    file: Path
    summary: dict  # already loaded and validated (baseline.load_summary)


@dataclass(frozen=True)
class RunReport:
    summary: dict
    summary_path: Path
    html_path: Path
    plots: list[plots.Plot]
    violations: list[GateResult]
    baseline_rows: list[Row]

    @property
    def failed(self) -> bool:
        """True when a gate or the baseline says the run must fail, or no test ran."""
        return bool(self.violations) or any(r.regressed for r in self.baseline_rows) or self.no_tests

    @property
    def no_tests(self) -> bool:
        return self.summary["verdict"]["result"] == NO_TESTS

    def failure_lines(self) -> list[str]:
        """One line per gate violation and per baseline regression; the reason when no test ran."""
        return (([NO_TESTS_REASON] if self.no_tests else []) + [v.line for v in self.violations]
                + [r.line for r in self.baseline_rows if r.regressed])


def regression_settings(thresholds: Thresholds | None, override_pct: float | None) -> tuple[float, dict[str, float]]:
    """The regression percentage (command line, else thresholds file, else default) and absolute floors."""
    table = thresholds.baseline if thresholds else {}
    pct = override_pct if override_pct is not None else table.get("regression_pct", DEFAULT_REGRESSION_PCT)
    floors = {unit: table[key] for unit, key in (("ms", "regression_min_ms"), ("s", "regression_min_s"),
                                                  ("iops", "regression_min_iops")) if key in table}
    return pct, floors


def build_run_report(
    run_path: Path,
    *,
    run_id: str,
    provider: str,
    profile: str,
    started: float | None,
    tests: list[dict],
    thresholds: Thresholds | None,
    baseline: SummaryFile | None = None,
    regression_pct: float | None = None,
    cluster: dict | None = None,
    beside: SummaryFile | None = None,
) -> RunReport:
    summary = build_summary(run_path, run_id=run_id, provider=provider, profile=profile, started=started,
                            tests=tests, cluster=cluster)
    if beside is not None:
        summary["beside"] = beside_section(summary, beside.summary, str(beside.file))
    violations: list[GateResult] = []
    gates_section = None
    if thresholds is not None:
        results = evaluate(summary["metrics"], thresholds, summary["workloads"])
        violations = [r for r in results if not r.passed]
        gates_section = gate_report(results, thresholds)
    rows: list[Row] = []
    baseline_section = None
    if baseline is not None:
        pct, floors = regression_settings(thresholds, regression_pct)
        rows = compare(baseline.summary, summary, pct, floors)
        baseline_section = baseline_report(rows, baseline.file, baseline.summary, pct)
    attach_verdict(summary, gates_section, baseline_section)
    validate_summary(summary)  # the schema is a promise to readers: never write a summary that breaks it
    rendered = plots.render_all(summary, run_path)
    summary_path = RunDir(run_path, run_id).write_json(SUMMARY_FILE, summary)
    html_path = html.write(summary, rendered, run_path)
    return RunReport(summary, summary_path, html_path, rendered, violations, rows)
