"""Fixtures shared by the suites (thin: the work is in the library)."""
from __future__ import annotations

from typing import Callable

import pytest

from harness.results import CheckResult


@pytest.fixture
def record_heal(recorder, request) -> Callable[[str, object, CheckResult], None]:
    """record_heal(scenario, volume, heal_result): the heal time and backlog curve for the report."""

    def record(scenario: str, volume, result: CheckResult) -> None:
        recorder.record("heal", {"scenario": scenario, "volume": volume.name,
                                 "seconds": result.evidence.get("heal_seconds"),
                                 "samples": result.evidence.get("backlog", []),
                                 "blocked_by": result.known_defect}, request.node.nodeid)

    return record
