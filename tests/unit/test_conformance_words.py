"""Conformance rows say in words what each check expected and saw (errno per op, heal seconds),
in conformance.json, the terminal matrix and report.html; never "every check passed" or a
{check: true} map. Rows come from the real check functions' CheckResults through `conform`."""
from __future__ import annotations

import json
import re
from html import unescape

import pytest

from harness.conformance import collect_rows, format_table
from harness.results import Recorder

INNER = """
from types import SimpleNamespace

import pytest

from harness.checks import heal as heal_checks
from harness.checks.access import AccessReport, OpOutcome, check_access
from harness.health import HealWait
from harness.results import all_passed
from harness.volume import VolumeType

VOLUME = SimpleNamespace(name="v1", spec=SimpleNamespace(type=VolumeType.REPLICA3, options={}),
                         heal_summary=lambda via=None: SimpleNamespace(total_split_brain=0))


def access(read, write):
    outcomes = tuple(OpOutcome(op, label == "ok", None if label == "ok" else {"ENOTCONN": 107, "EROFS": 30}[label],
                               None, 0.01) for op, label in (("read", read), ("write", write)))
    return check_access(AccessReport("client1", "/mnt/v1", outcomes), {"read": "ENOTCONN", "write": "ENOTCONN"},
                        name="client I/O refused")


@pytest.fixture
def healed_in(monkeypatch):
    # check_heal itself, with the wait's outcome given: a heal that took 6.2 s
    monkeypatch.setattr(heal_checks, "wait_heal", lambda volume, timeout, via: HealWait(6.2, ((0.0, 4), (6.2, 0))))


def test_quorum_lost(conform, healed_in):
    conform("Q2", VOLUME, "kill 2 bricks", all_passed([access("ENOTCONN", "ENOTCONN"),
                                                       heal_checks.check_heal(VOLUME, 60)]))


def test_quorum_kept_by_mistake(conform, healed_in):
    conform("Q3", VOLUME, "kill 2 bricks", all_passed([access("ENOTCONN", "ok"), heal_checks.check_heal(VOLUME, 60)]))
"""


def test_rows_from_real_checks_say_what_was_expected_and_seen(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_rows=INNER)
    reports = pytester.path / "reports"
    result = pytester.runpytest("-p", "no:cacheprovider", "--report-dir", str(reports))
    result.assert_outcomes(passed=1, failed=1)
    folder = (reports / "latest").resolve()
    rows = {r["scenario"]: r for r in json.loads((folder / "conformance.json").read_text())["scenarios"]}
    expected = ("client I/O refused: read ENOTCONN, write ENOTCONN; "
                "self-heal completes: pending heal 0 and no split-brain entry")
    assert rows["Q2"]["expected"] == expected
    assert rows["Q2"]["observed"] == ("client I/O refused: read ENOTCONN, write ENOTCONN; "
                                      "self-heal completes: pending heal 0 after 6.2 s (at most 4 entries pending)")
    assert rows["Q3"]["observed"] == ("not passed: client I/O refused (FAILED). "
                                      "client I/O refused: read ENOTCONN, write ok (FAILED); "
                                      "self-heal completes: pending heal 0 after 6.2 s (at most 4 entries pending)")
    result.stdout.fnmatch_lines(["*conformance matrix*", "Q2 *replica3*kill 2 bricks*pass",
                                 f"    expected: {expected}",
                                 "    observed: client I/O refused: read ENOTCONN, write ENOTCONN; *6.2 s (*",
                                 "Q3 *fail", "*observed: not passed: client I/O refused (FAILED). client I/O refused: "
                                 "read ENOTCONN, write ok (FAILED);*"])
    matrix = re.search(r"<table id='matrix'>.*?</table>", (folder / "report.html").read_text(), re.S)
    assert matrix, "the report has a matrix"
    cells = [unescape(c) for c in re.findall(r"<td[^>]*>(.*?)</td>", matrix.group(0))]
    assert expected in cells and rows["Q3"]["observed"] in cells
    summary_rows = json.loads((folder / "summary.json").read_text())["scenarios"]
    assert [r["observed"] for r in summary_rows] == [rows["Q2"]["observed"], rows["Q3"]["observed"]]
    for text in [result.stdout.str(), (folder / "conformance.json").read_text(), matrix.group(0)]:
        assert "every check passed" not in text and '"client I/O refused": true' not in text


def test_rows_recorded_before_words_are_rewritten_from_their_evidence(tmp_path) -> None:  # noqa: ANN001
    """A record as the earlier code wrote it: expected "every check passed", observed a map of booleans."""
    part = {"name": "self-heal completes", "passed": True, "observed": "pending heal 0 after 3.1 s",
            "expected": "pending heal 0 and no split-brain entry", "evidence": {}}
    Recorder(tmp_path, "main").record("scenario", {
        "scenario": "H1", "volume_type": "replica3", "options": {}, "fault": "kill brick",
        "expected": "every check passed", "observed": {"self-heal completes": True}, "verdict": "pass",
        "evidence": {"check": "all", "self-heal completes": part}}, test="t")
    [row] = collect_rows(tmp_path)
    assert (row["expected"], row["observed"]) == ("self-heal completes: pending heal 0 and no split-brain entry",
                                                  "self-heal completes: pending heal 0 after 3.1 s")
    assert format_table([row])[2:] == [f"    expected: {row['expected']}", f"    observed: {row['observed']}"]
