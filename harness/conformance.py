"""The conformance matrix: one row per scenario run, expected against observed."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .results import COMPOSED, CheckResult, Recorder, describe, load_records, result_words
from .rundir import RunDir

VERDICTS = {True: "pass", False: "fail", None: "unknown"}
LEGACY_EXPECTED = "every check passed"  # what all_passed said before rows were written in words
KNOWN_DEFECT_VERDICT = "known-defect"  # failed the way a known GlusterFS defect fails: shown, not counted as a fail


@dataclass(frozen=True)
class ScenarioRow:
    scenario: str  # id from SCENARIOS.md, e.g. "Q2"
    volume_type: str
    options: dict[str, str]
    fault: str
    expected: Any  # words: each check's own expectation (results.result_words)
    observed: Any  # words: what each check saw, e.g. "writes: write ENOTCONN; self-heal completes: ..."
    verdict: str  # pass | fail | unknown | known-defect
    evidence: dict = field(default_factory=dict)

    @classmethod
    def from_result(cls, scenario: str, volume_type: str, options: dict, fault: str, result: CheckResult) -> "ScenarioRow":
        verdict = KNOWN_DEFECT_VERDICT if result.known_defect else VERDICTS[result.passed]
        expected, observed = result_words(result.to_dict())
        evidence = {"check": result.name, **result.evidence}
        if result.name != COMPOSED:  # the observed value itself stays for readers of figures (split-brain counts)
            evidence["observed_value"] = result.observed
        return cls(scenario, volume_type, dict(options), fault, expected, observed, verdict, evidence)


class ConformanceRecorder:
    """Records rows for one test into the run's records."""

    def __init__(self, recorder: Recorder, test: str) -> None:
        self.recorder, self.test = recorder, test
        self.rows: list[ScenarioRow] = []

    def record(self, row: ScenarioRow) -> ScenarioRow:
        self.rows.append(row)
        self.recorder.record("scenario", asdict(row), self.test)
        return row


def collect_rows(run_path: Path) -> list[dict]:
    rows = [in_words(r) for r in load_records(run_path, "scenario")]
    return sorted(rows, key=lambda r: (r["scenario"], r["volume_type"], r["test"] or ""))


def in_words(row: dict) -> dict:
    """A row recorded before rows carried words (expected "every check passed", observed a dict of
    booleans) rewritten from the check results kept in its evidence; other rows unchanged."""
    if row.get("expected") != LEGACY_EXPECTED or not isinstance(row.get("evidence"), dict):
        return row
    evidence = {k: v for k, v in row["evidence"].items() if k != "check"}
    expected, observed = result_words({"name": COMPOSED, "evidence": evidence})
    return {**row, "expected": expected, "observed": observed}


def write_matrix(run_dir: RunDir) -> list[dict]:
    rows = collect_rows(run_dir.path)
    run_dir.write_json("conformance.json", {"run_id": run_dir.run_id, "scenarios": rows})
    return rows


def format_table(rows: list[dict]) -> list[str]:
    """Readable lines for the terminal summary: one line per row, then its expectation and its
    observation in words on lines of their own (too long for columns)."""
    if not rows:
        return []
    header = ("scenario", "volume", "fault", "verdict")
    table = [header] + [(r["scenario"], r["volume_type"], r["fault"], r["verdict"]) for r in rows]
    widths = [max(len(str(row[i])) for row in table) for i in range(len(header))]
    lines = ["  ".join(str(c).ljust(w) for c, w in zip(header, widths)).rstrip()]
    for r, row in zip(rows, table[1:]):
        lines.append("  ".join(str(c).ljust(w) for c, w in zip(row, widths)).rstrip())
        lines += [f"    expected: {_short(r['expected'])}", f"    observed: {_short(r['observed'])}"]
    return lines


def _short(value: Any, limit: int = 400) -> str:
    text = value if isinstance(value, str) else describe(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
