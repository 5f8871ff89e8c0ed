"""Composed results keep every part: a part is never hidden by another of the same name, and the
composed row names first the parts that did not pass (found when N1's row came out unknown while
its evidence showed only a passing "self-heal completes")."""
from __future__ import annotations

from harness.conformance import ScenarioRow
from harness.results import CheckResult, all_passed

STALL = CheckResult("I/O stalls about ping-timeout", True, "longest operation 5.40 s (1.08 x ping-timeout)", "1-2x")
IO = CheckResult("no write fails under the hang", True, "0 failed writes", "0 failed writes")
HEAL_UNKNOWN = CheckResult("self-heal completes", None, "pending heal 0 after 3.0 s but split-brain count unknown",
                           "pending heal 0 and no split-brain entry")
HEAL_OK = CheckResult("self-heal completes", True, "pending heal 0 after 0.1 s", "pending heal 0 and no split-brain entry")


def test_parts_of_one_name_are_all_kept_in_order_and_nested_ones_flattened() -> None:
    # N1's shape: finish() composes two heal checks, the row composes that with two more.
    result = all_passed([STALL, IO, all_passed([HEAL_UNKNOWN, HEAL_OK])])
    assert result.passed is None
    assert list(result.evidence) == ["I/O stalls about ping-timeout", "no write fails under the hang",
                                     "self-heal completes", "self-heal completes #2"]
    assert [p["passed"] for p in result.evidence.values()] == [True, True, None, True]
    assert result.evidence["self-heal completes #2"]["name"] == "self-heal completes #2"


def test_a_composed_row_names_the_parts_that_did_not_pass_first() -> None:
    failed = CheckResult("bricks consistent", False, "f1: content differs", "every replica identical")
    result = all_passed([STALL, all_passed([HEAL_UNKNOWN, HEAL_OK]), failed])
    row = ScenarioRow.from_result("N1", "replica3", {}, "node hang", result)
    assert row.verdict == "fail"
    assert row.observed.startswith("not passed: self-heal completes (UNKNOWN), bricks consistent (FAILED). "), row
    assert "self-heal completes: pending heal 0 after 3.0 s but split-brain count unknown (UNKNOWN); " \
           "self-heal completes #2: pending heal 0 after 0.1 s; " in row.observed
    assert result.observed == row.observed  # the composed result itself says it, not a map of booleans
    passing = ScenarioRow.from_result("N1", "replica3", {}, "node hang", all_passed([STALL, IO]))
    assert not passing.observed.startswith("not passed")
