"""Runs without tests, black-box through pytester: --collect-only writes nothing; a run whose
selection is empty reports "no tests" and fails (pytest's own exit 5 stays), and so do the
offline `report` and `compare` commands given its summary."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from harness.runner import run

TESTS = """
def test_one():
    pass

def test_two():
    pass
"""


@pytest.fixture
def reports(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A report folder that already holds an earlier run, with reports/latest pointing at it."""
    folder = pytester.path / "reports"
    (folder / "earlier-run").mkdir(parents=True)
    (folder / "latest").symlink_to("earlier-run")
    monkeypatch.setenv("GLUSTER_REPORT_DIR", str(folder))
    pytester.makepyfile(test_pair=TESTS)
    return folder


@pytest.mark.parametrize("args", [["--collect-only"], ["--collect-only", "-q", "-n", "2"], ["--markers"],
                                  ["--fixtures"]], ids=["collect-only", "collect-only-xdist", "markers", "fixtures"])
def test_a_session_that_runs_no_test_writes_nothing(pytester: pytest.Pytester, reports: Path,
                                                    args: list[str]) -> None:
    result = pytester.runpytest(*args)
    assert result.ret == pytest.ExitCode.OK
    assert sorted(p.name for p in reports.iterdir()) == ["earlier-run", "latest"], "no new run folder"
    assert (reports / "latest").readlink() == Path("earlier-run"), "latest still points at the earlier run"
    assert list((reports / "earlier-run").iterdir()) == []


@pytest.mark.parametrize("args", [["-k", "typo_matches_nothing"], ["-k", "typo_matches_nothing", "-n", "2"],
                                  ["--deselect", "test_pair.py::test_one", "--deselect", "test_pair.py::test_two"]],
                         ids=["k-typo", "k-typo-xdist", "all-deselected"])
def test_an_empty_selection_says_no_tests_and_fails(pytester: pytest.Pytester, reports: Path,
                                                    args: list[str]) -> None:
    result = pytester.runpytest(*args)
    assert result.ret == pytest.ExitCode.NO_TESTS_COLLECTED, "pytest's own exit status stays"
    result.stdout.fnmatch_lines(["*no test ran: nothing was collected or every test was deselected*",
                                 "*verdict NO TESTS: 0 gate violation(s)*"])
    result.stdout.no_fnmatch_line("*verdict PASS*")
    folder = (reports / "latest").resolve()
    assert folder.name != "earlier-run"
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["tests"] == []
    assert summary["verdict"]["result"] == "no tests"
    html = (folder / "report.html").read_text()
    assert "id='verdict' class='fail'>NO TESTS" in html and "PASS" not in html

    # The offline commands fail on it too: rebuilding its report, comparing with or against it.
    rebuilt = run([sys.executable, "-m", "harness", "report", str(folder)], timeout=120, check=False)
    assert rebuilt.returncode == 1 and "verdict NO TESTS" in rebuilt.stdout, rebuilt.stdout + rebuilt.stderr
    compared = run([sys.executable, "-m", "harness", "compare", str(folder), str(folder)], timeout=60, check=False)
    assert compared.returncode == 1, compared.stdout + compared.stderr
    assert f"current run {folder.name} ran no test" in compared.stdout

    # ... and the plugin refuses it as a baseline.
    refused = pytester.runpytest("--baseline", str(folder / "summary.json"))
    assert refused.ret == pytest.ExitCode.USAGE_ERROR
    refused.stderr.fnmatch_lines(["*is of a run that ran no test*"])


def test_a_run_with_tests_still_passes(pytester: pytest.Pytester, reports: Path) -> None:
    """Positive control: the same project with its tests selected passes and repoints latest."""
    result = pytester.runpytest()
    assert result.ret == pytest.ExitCode.OK
    result.stdout.fnmatch_lines(["*verdict PASS*"])
    folder = (reports / "latest").resolve()
    assert json.loads((folder / "summary.json").read_text())["verdict"] == {"result": "pass", "reasons": []}
