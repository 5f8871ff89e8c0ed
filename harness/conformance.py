"""The conformance matrix: one row per scenario run, expected against observed."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .results import CheckResult, Recorder, load_records
from .rundir import RunDir

VERDICTS = {True: "pass", False: "fail", None: "unknown"}
KNOWN_DEFECT_VERDICT = "known-defect"  # failed the way a known GlusterFS defect fails: shown, not counted as a fail


@dataclass(frozen=True)
class ScenarioRow:
    scenario: str  # id from SCENARIOS.md, e.g. "Q2"
    volume_type: str
    options: dict[str, str]
    fault: str
    expected: Any
    observed: Any
    verdict: str  # pass | fail | unknown | known-defect
    evidence: dict = field(default_factory=dict)

    @classmethod
    def from_result(cls, scenario: str, volume_type: str, options: dict, fault: str, result: CheckResult) -> "ScenarioRow":
        verdict = KNOWN_DEFECT_VERDICT if result.known_defect else VERDICTS[result.passed]
        return cls(scenario, volume_type, dict(options), fault, result.expected, result.observed,
                   verdict, {"check": result.name, **result.evidence})


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
    rows = load_records(run_path, "scenario")
    return sorted(rows, key=lambda r: (r["scenario"], r["volume_type"], r["test"] or ""))


def write_matrix(run_dir: RunDir) -> list[dict]:
    rows = collect_rows(run_dir.path)
    run_dir.write_json("conformance.json", {"run_id": run_dir.run_id, "scenarios": rows})
    return rows


def format_table(rows: list[dict]) -> list[str]:
    """Readable lines for the terminal summary."""
    if not rows:
        return []
    header = ("scenario", "volume", "fault", "verdict", "observed")
    table = [header] + [
        (r["scenario"], r["volume_type"], r["fault"], r["verdict"], _short(r["observed"])) for r in rows
    ]
    widths = [max(len(str(row[i])) for row in table) for i in range(len(header) - 1)]
    return ["  ".join(str(c).ljust(w) for c, w in zip(row[:-1], widths)) + "  " + str(row[-1]) for row in table]


def _short(value: Any, limit: int = 70) -> str:
    text = str(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
