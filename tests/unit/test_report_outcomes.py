"""Per-test outcomes in summary.json, collected by the plugin on the controller, also under xdist."""
from __future__ import annotations

import json

import pytest

TESTS = """
import pytest

def test_ok():
    pass

def test_broken():
    assert 1 == 2, "one is not two"

@pytest.fixture
def broken_fixture():
    raise RuntimeError("set-up failed")

def test_setup_error(broken_fixture):
    pass

def test_skipped():
    pytest.skip("not here")

@pytest.mark.xfail(reason="known")
def test_known_bug():
    assert False
"""


@pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["single", "xdist"])
def test_outcomes_reach_the_summary(pytester: pytest.Pytester, workers: list[str]) -> None:
    pytester.makepyfile(test_mix=TESTS)
    pytester.makepyfile(test_import_error="import not_a_module_anywhere\n")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--report-dir", str(pytester.path / "reports"),
                                           "--continue-on-collection-errors", *workers)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    summary = json.loads((pytester.path / "reports" / "latest" / "summary.json").read_text())
    got = {t["nodeid"]: (t["outcome"], t["message"]) for t in summary["tests"]}
    assert got == {
        "test_mix.py::test_ok": ("passed", None),
        "test_mix.py::test_broken": ("failed", "AssertionError: one is not two"),
        "test_mix.py::test_setup_error": ("error", "RuntimeError: set-up failed"),
        "test_mix.py::test_skipped": ("skipped", "Skipped: not here"),
        "test_mix.py::test_known_bug": ("xfailed", "known"),
        "test_import_error.py": ("error", "E   ModuleNotFoundError: No module named 'not_a_module_anywhere'"),
    }
    assert summary["totals"] == {"passed": 1, "failed": 1, "error": 2, "skipped": 1, "xfailed": 1, "xpassed": 0}
    assert summary["verdict"]["reasons"] == ["3 test(s) failed or errored"]
