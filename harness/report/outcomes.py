"""Per-test outcomes collected from pytest's reports, as plain data for summary.json."""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

OUTCOMES = ("passed", "failed", "error", "skipped", "xfailed", "xpassed")


@dataclass
class TestOutcome:
    nodeid: str
    outcome: str  # one of OUTCOMES
    duration_s: float = 0.0
    message: str | None = None

    def to_dict(self) -> dict:
        return asdict(self)


class OutcomeCollector:
    """Folds the setup/call/teardown reports of each test into one outcome, like junit.xml does.

    A failure in setup or teardown is an "error"; a failure in call is "failed"; xfail marks turn
    into "xfailed"/"xpassed". Reports from pytest-xdist workers arrive at the controller the same way.
    """

    def __init__(self) -> None:
        self.tests: dict[str, TestOutcome] = {}

    def add(self, nodeid: str, when: str, outcome: str, duration: float, *, wasxfail: bool = False,
            message: str | None = None) -> None:
        test = self.tests.setdefault(nodeid, TestOutcome(nodeid, "passed"))
        test.duration_s = round(test.duration_s + duration, 6)
        if outcome == "passed" and when == "call":
            test.outcome = "xpassed" if wasxfail else test.outcome
        elif outcome == "skipped":
            if test.outcome == "passed":
                test.outcome = "xfailed" if wasxfail else "skipped"
                test.message = message
        elif outcome == "failed":
            if when == "call":
                test.outcome = "failed"
            elif test.outcome in ("passed", "skipped", "xfailed", "xpassed"):
                test.outcome = "error"
            test.message = test.message if test.outcome == "failed" and when == "teardown" else message

    def pytest_runtest_logreport(self, report: Any) -> None:
        """pytest hook (this object is registered as a plugin on the controller)."""
        message = None
        crash = getattr(getattr(report, "longrepr", None), "reprcrash", None)
        if report.failed and crash is not None:
            message = str(crash.message).strip().splitlines()[0] if str(crash.message).strip() else None
        elif report.failed and report.longreprtext:
            message = report.longreprtext.strip().splitlines()[-1]
        elif getattr(report, "wasxfail", ""):
            message = report.wasxfail.splitlines()[0]
        elif report.skipped and isinstance(report.longrepr, tuple):
            message = str(report.longrepr[2])
        self.add(report.nodeid, report.when, report.outcome, report.duration,
                 wasxfail=hasattr(report, "wasxfail"), message=message)

    def pytest_collectreport(self, report: Any) -> None:
        """pytest hook: a module that fails to import counts as an errored test."""
        if report.failed:
            text = str(report.longrepr).strip().splitlines()
            self.add(report.nodeid or "(collection)", "collect", "failed", 0.0, message=text[-1] if text else None)

    def outcomes(self) -> list[dict]:
        return [t.to_dict() for t in self.tests.values()]
