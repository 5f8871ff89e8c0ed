"""The pytest plugin, black-box through pytester."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from ..conftest import REPO

pytestmark = pytest.mark.usefixtures("isolated_reports")


@pytest.fixture
def isolated_reports(pytester, monkeypatch):
    monkeypatch.setenv("GLUSTER_REPORT_DIR", str(pytester.path / "reports"))


def test_markers_are_registered(pytester):
    result = pytester.runpytest("--markers")
    for marker in ("quorum", "splitbrain", "selfheal", "chaos", "workload", "scale", "slow"):
        result.stdout.fnmatch_lines([f"@pytest.mark.{marker}:*"])


def test_options_come_from_the_environment(pytester, monkeypatch):
    monkeypatch.setenv("GLUSTER_NODES", "5")
    monkeypatch.setenv("GLUSTER_ZONES", "2")
    monkeypatch.setenv("GLUSTER_PROFILE", "realistic")
    pytester.makepyfile("""
        def test_settings(harness_settings):
            assert (harness_settings.nodes, harness_settings.zones) == (5, 2)
            assert harness_settings.profile.name == "realistic"
    """)
    pytester.runpytest().assert_outcomes(passed=1)


def test_command_line_beats_the_environment(pytester, monkeypatch):
    monkeypatch.setenv("GLUSTER_NODES", "5")
    pytester.makepyfile("""
        def test_settings(harness_settings):
            assert harness_settings.nodes == 4
    """)
    pytester.runpytest("--gluster-nodes", "4").assert_outcomes(passed=1)


def test_malformed_environment_value_is_a_usage_error(pytester, monkeypatch):
    monkeypatch.setenv("GLUSTER_NODES", "three")
    result = pytester.runpytest()
    result.stderr.fnmatch_lines(["*GLUSTER_NODES='three' is not a valid int*"])
    assert result.ret == pytest.ExitCode.USAGE_ERROR


def test_kind_provider_without_kind_fails_clearly_without_touching_the_machine(pytester):
    pytester.makepyfile("""
        def test_needs_cluster(gluster_cluster):
            pass
    """)
    result = pytester.runpytest("--gluster-provider", "kind")
    result.stdout.fnmatch_lines(["*cannot start the kind cluster*"])
    assert result.ret != 0


def test_run_folder_with_latest_link_and_junit(pytester):
    pytester.makepyfile("""
        def test_ok():
            pass
    """)
    pytester.runpytest().assert_outcomes(passed=1)
    latest = pytester.path / "reports" / "latest"
    assert latest.is_symlink()
    assert (latest / "junit.xml").exists()
    # No conformance row: not a run another provider's report could show beside its own.
    assert not (pytester.path / "reports" / "latest-local").exists()


def test_conformance_rows_reach_the_matrix_and_the_terminal(pytester):
    pytester.makepyfile("""
        from harness.conformance import ScenarioRow
        from harness.results import CheckResult
        def test_row(conformance):
            result = CheckResult("writes", True, "write ok", "write ok")
            conformance.record(ScenarioRow.from_result("Q1", "replica3", {"cluster.quorum-type": "auto"},
                                                       "kill 1 brick", result))
    """)
    result = pytester.runpytest()
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*conformance matrix*", "*Q1*replica3*kill 1 brick*pass*"])
    matrix = json.loads((pytester.path / "reports" / "latest" / "conformance.json").read_text())
    assert [r["scenario"] for r in matrix["scenarios"]] == ["Q1"]
    reports = pytester.path / "reports"
    assert (reports / "latest-local").resolve() == (reports / "latest").resolve()  # what --beside shows


def test_a_known_glusterfs_defect_is_an_xfail_with_its_evidence_and_any_other_failure_still_fails(pytester):
    pytester.makepyfile("""
        from harness.conformance import ScenarioRow
        from harness.errors import KnownDefectTimeout, WaitTimeout
        from harness.gluster.gfidless import KNOWN_DEFECT
        from harness.pytest.plugin import expect
        from harness.results import CheckResult, all_passed
        DEFECT = f"{KNOWN_DEFECT}: names without a gfid (b0: d/x)"
        def heal(defect):
            evidence = {"reason": "timed out", **({"known_defect": defect} if defect else {})}
            return CheckResult("self-heal completes", False, "pending heal not 0", "pending heal 0", evidence)
        LOST = CheckResult("no acknowledged write lost", False, "1 lost", "0 lost")
        def test_blocked_heal_raised():
            raise KnownDefectTimeout(f"timed out; pending entries: b1: /d. {DEFECT}", DEFECT)
        def test_blocked_heal_checked(conformance):
            result = all_passed([heal(DEFECT), CheckResult("bricks consistent", True, "ok", "ok")])
            conformance.record(ScenarioRow.from_result("Q1", "replica3", {}, "kill 1 brick", result))
            expect(result)
        def test_blocked_heal_and_a_lost_write(conformance):
            result = all_passed([heal(DEFECT), LOST])
            conformance.record(ScenarioRow.from_result("Q2", "replica3", {}, "kill 2 bricks", result))
            expect(result)
        def test_plain_timeout():
            raise WaitTimeout(f"timed out, and the text mentions {DEFECT}")
        def test_plain_heal_failure():
            expect(heal(None))
    """)
    result = pytester.runpytest("-rx")
    result.assert_outcomes(xfailed=2, failed=3)
    result.stdout.fnmatch_lines(["*Q1*replica3*kill 1 brick*known-defect*"])
    result.stdout.fnmatch_lines(["*XFAIL*test_blocked_heal_raised*known GlusterFS defect*b0: d/x*"])
    run = pytester.path / "reports" / "latest"
    outcomes = {t["nodeid"].split("::")[-1]: t for t in json.loads((run / "summary.json").read_text())["tests"]}
    assert outcomes["test_blocked_heal_checked"]["outcome"] == "xfailed"
    assert outcomes["test_blocked_heal_checked"]["message"].startswith("known GlusterFS defect")
    assert outcomes["test_blocked_heal_and_a_lost_write"]["outcome"] == "failed"  # a lost write is never excused
    assert outcomes["test_plain_timeout"]["outcome"] == "failed"  # only the typed error counts, not its words
    rows = json.loads((run / "conformance.json").read_text())["scenarios"]
    assert [r["verdict"] for r in rows] == ["known-defect", "fail"]


def test_expect_fails_with_the_checks_explanation(pytester):
    pytester.makepyfile("""
        from harness.pytest.plugin import expect
        from harness.results import CheckResult
        def test_broken():
            expect(CheckResult("heal", False, "pending 3 after 10 s", "pending 0", {"volume": "v1"}))
    """)
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*heal: FAILED*", "*expected: pending 0*", "*observed: pending 3 after 10 s*",
                                 "*volume: v1*"])


def test_dash_k_selects_exactly_the_experiments():
    """`pytest -k chaos` is the documented way to run the experiments: nothing else may match
    (so no other test may have the word in its name, module or markers)."""
    out = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider",
                          "-k", "chaos", "tests", "suites"], cwd=REPO, capture_output=True, text=True, timeout=300,
                         env={**os.environ, "GLUSTER_REPORT_DIR": "/tmp/collect-only-reports"}).stdout
    selected = [line for line in out.splitlines() if "::" in line]
    experiments = sorted(p.stem for p in (REPO / "chaos").glob("*.json"))
    assert len(selected) == len(experiments) + 1  # one test per experiment, plus the catalogue check
    assert all(line.startswith("suites/test_chaos.py::") for line in selected), selected
