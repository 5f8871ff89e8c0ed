"""Gates: the thresholds file and its evaluation against summaries built from contract records.

(A gate failing a real pytest run is tested in test_report.py on a real run.)"""
from __future__ import annotations

from pathlib import Path

import pytest

from harness.errors import ConfigError
from harness.report.gates import DEFAULT_THRESHOLDS, GATES, evaluate, load_thresholds
from harness.report.summary import build_summary, validate_summary
from tests.report_records import phase, write_run


def summary_of(tmp_path: Path, scenarios: list[dict]) -> dict:
    run = write_run(tmp_path / "run", scenarios)
    summary = build_summary(run, run_id="r", provider="local", profile="fast", started=None)
    validate_summary(summary)
    return summary


@pytest.mark.parametrize("profile", ["fast", "realistic"])
def test_default_thresholds_cover_every_gate(profile: str) -> None:
    limits = load_thresholds(None, profile)
    assert set(limits.limits) == set(GATES)
    assert limits.limits["max_lost_writes"] == 0 and limits.limits["max_split_brain_entries"] == 0
    assert limits.limit_for("max_split_brain_entries", "S1") is None, "S1 is the negative control"
    assert limits.limit_for("max_split_brain_entries", "S2") == 0


def test_a_clean_run_passes_every_gate(tmp_path: Path) -> None:
    summary = summary_of(tmp_path, [{"id": "Q1", "phases": {"during_fault": phase(2.0, 40.0)}, "heal_s": 6.0,
                                     "lost": [], "split_brain": 0}])
    results = evaluate(summary["metrics"], load_thresholds(None, "fast"))
    assert {r.gate for r in results} == {"max_heal_s", "max_fault_p99_ms", "max_unavailability_s", "max_lost_writes",
                                         "max_split_brain_entries"}
    assert all(r.passed for r in results)


def test_each_violation_is_one_line_with_gate_limit_measured_and_scenario(tmp_path: Path) -> None:
    summary = summary_of(tmp_path, [
        {"id": "H1", "heal_s": 75.25},
        {"id": "Z2", "phases": {"during_fault": phase(5.0, 2500.0)}, "unavailable_s": 7.5},
        {"id": "S4", "lost": ["k3", "k9"], "split_brain": 2, "unavailable_s": 30.0},
        {"id": "P1", "storm_p99_s": 12.0},
    ])
    violations = [r.line for r in evaluate(summary["metrics"], load_thresholds(None, "fast")) if not r.passed]
    assert violations == [
        "gate max_heal_s VIOLATED: limit 60 s, measured 75.25 s, scenario H1",
        "gate max_lost_writes VIOLATED: limit 0, measured 2, scenario S4",
        "gate max_split_brain_entries VIOLATED: limit 0, measured 2, scenario S4",
        "gate max_fault_p99_ms VIOLATED: limit 2000 ms, measured 2500 ms, scenario Z2",
        "gate max_unavailability_s VIOLATED: limit 5 s, measured 7.5 s, scenario Z2",
        "gate max_provision_p99_s VIOLATED: limit 10 s, measured 12 s, scenario storm",
    ]  # S4's 30 s unavailability is exempt: its minority side must fail


def test_negative_control_and_overrides(tmp_path: Path) -> None:
    summary = summary_of(tmp_path, [
        {"id": "S1", "split_brain": 1, "lost": ["f"]},  # the negative control: split brain expected
        {"id": "S2", "split_brain": 1},  # resolution scenario: a split brain left over is a violation
        {"id": "N1", "unavailable_s": 9.5},  # hung node: ping-timeout stall allowed up to 15 s in fast
    ])
    failing = {(r.gate, r.scenario) for r in evaluate(summary["metrics"], load_thresholds(None, "fast")) if not r.passed}
    assert failing == {("max_split_brain_entries", "S2")}
    realistic = evaluate(summary["metrics"], load_thresholds(None, "realistic"))
    assert [r.limit for r in realistic if r.scenario == "N1" and r.gate == "max_unavailability_s"] == [75.0]


def test_an_access_table_raises_a_limit_for_that_access_only(tmp_path: Path) -> None:
    """[fast.access.s3] raises max_fault_p99_ms to 5 s for S3 workloads; the negative controls: fio
    over 2 s under the same fault still violates the scenario's limit, S3 over 5 s violates its raised
    one, and a scenario's higher limit (N1's 15 s) is never lowered by it."""
    def q1(access: str, p99: float, scenario: str = "Q1") -> dict:
        return {"id": scenario, "access": access, "phases": {"during_fault": phase(5.0, p99)},
                "test": f"suites/test_w.py::test_{scenario}_{access}"}

    thresholds = load_thresholds(None, "fast")
    assert thresholds.limit_for("max_fault_p99_ms", "Q1", "s3") == 5000
    assert thresholds.limit_for("max_fault_p99_ms", "Q1", "file") == thresholds.limit_for("max_fault_p99_ms", "Q1") == 2000
    summary = summary_of(tmp_path / "ok", [q1("s3", 3029.0), q1("file", 25.0), q1("s3", 9000.0, "N1")])
    p99 = [r for r in evaluate(summary["metrics"], thresholds, summary["workloads"]) if r.gate == "max_fault_p99_ms"]
    assert [r.line for r in p99] == [
        "gate max_fault_p99_ms ok: limit 15000 ms, measured 9000 ms, scenario N1, access s3",
        "gate max_fault_p99_ms ok: limit 2000 ms, measured 25 ms, scenario Q1",
        "gate max_fault_p99_ms ok: limit 5000 ms, measured 3029 ms, scenario Q1, access s3",
    ]
    summary = summary_of(tmp_path / "bad", [q1("s3", 5200.0), q1("file", 2100.0)])
    violated = [r.line for r in evaluate(summary["metrics"], thresholds, summary["workloads"]) if not r.passed]
    assert violated == ["gate max_fault_p99_ms VIOLATED: limit 2000 ms, measured 2100 ms, scenario Q1",
                        "gate max_fault_p99_ms VIOLATED: limit 5000 ms, measured 5200 ms, scenario Q1, access s3"]
    # Without the workloads the scenario's worst value meets the scenario's own limit: nothing is raised.
    assert [r.line for r in evaluate(summary["metrics"], thresholds) if r.gate == "max_fault_p99_ms"] == [
        "gate max_fault_p99_ms VIOLATED: limit 2000 ms, measured 5200 ms, scenario Q1"]


def test_an_access_table_takes_only_workload_gates(tmp_path: Path) -> None:
    bad = tmp_path / "t.toml"
    bad.write_text("[fast]\nmax_heal_s = 60\n[fast.access.s3]\nmax_heal_s = 600\n")
    with pytest.raises(ConfigError, match=r"\[fast.access.s3\]: unknown key 'max_heal_s'; known keys: "
                                          r"max_fault_p99_ms, max_unavailability_s"):
        load_thresholds(bad, "fast")


def test_a_heal_that_timed_out_violates_whatever_the_limit(tmp_path: Path) -> None:
    summary = summary_of(tmp_path, [{"id": "H1", "heal_s": None}])
    [result] = [r for r in evaluate(summary["metrics"], load_thresholds(None, "realistic")) if r.gate == "max_heal_s"]
    assert not result.passed and result.line == "gate max_heal_s VIOLATED: limit 600 s, measured timed out, scenario H1"


def test_a_heal_a_known_glusterfs_defect_blocked_is_reported_as_such_not_gated_as_a_timeout(tmp_path: Path) -> None:
    defect = "known GlusterFS defect (gluster/glusterfs#3608, #848): ..."
    summary = summary_of(tmp_path, [{"id": "H1", "heal_s": None, "heal_blocked_by": defect},
                                    {"id": "H2", "heal_s": None}])
    assert [h["blocked_by"] for h in summary["heal"]] == [defect, None]
    heal_gates = [r for r in evaluate(summary["metrics"], load_thresholds(None, "fast")) if r.gate == "max_heal_s"]
    assert [(r.scenario, r.passed) for r in heal_gates] == [("H2", False)]


def test_unmeasured_quantities_are_not_gated(tmp_path: Path) -> None:
    summary = summary_of(tmp_path, [{"id": "Q2"}])  # only a conformance row: nothing measured but split brain
    assert [r.gate for r in evaluate(summary["metrics"], load_thresholds(None, "fast"))] == ["max_split_brain_entries"]


@pytest.mark.parametrize("content, problem", [
    ("[fast\nmax_heal_s = 1", "is not valid TOML"),
    ("[realistic]\nmax_heal_s = 1\n", "has no [fast] table for profile 'fast'; tables found: realistic"),
    ("[fast]\nmax_heal_seconds = 1\n", "unknown key 'max_heal_seconds'"),
    ("[fast]\nmax_heal_s = \"soon\"\n", "max_heal_s must be a number >= 0, got 'soon'"),
    ("[fast.scenarios.S1]\nexempt = [\"max_splitbrain\"]\n", "exempt must be a list of gate names"),
])
def test_malformed_thresholds_file_names_the_file_and_the_problem(tmp_path: Path, content: str, problem: str) -> None:
    path = tmp_path / "limits.toml"
    path.write_text(content)
    with pytest.raises(ConfigError) as err:
        load_thresholds(path, "fast")
    assert str(path) in str(err.value) and problem in str(err.value)


def test_bad_thresholds_file_is_a_usage_error_before_anything_runs(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_x="def test_x():\n    pass\n")
    reports = pytester.path / "reports"
    missing = pytester.path / "nope.toml"
    result = pytester.runpytest_subprocess("--report-dir", str(reports), "--thresholds", str(missing))
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"ERROR: thresholds file {missing} does not exist; pass an existing file with "
                                 f"--thresholds (the defaults are in {DEFAULT_THRESHOLDS})"])
    bad = pytester.path / "bad.toml"
    bad.write_text("[fast]\nmax_heal_s = = 3\n")
    result = pytester.runpytest_subprocess("--report-dir", str(reports), "--thresholds", str(bad))
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"ERROR: thresholds file {bad} is not valid TOML: *(at line 2, column *)"])
    assert not reports.exists(), "no run folder is made for a run that cannot start"
