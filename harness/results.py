"""Structured results: what checks return, and what a run records for its reports."""
from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterable

RECORDS_DIR = "records"


@dataclass(frozen=True)
class CheckResult:
    """A check's verdict. `passed` is True, False, or None when the state could not be known."""

    name: str
    passed: bool | None
    observed: Any
    expected: Any
    evidence: dict = field(default_factory=dict)

    @property
    def unknown(self) -> bool:
        return self.passed is None

    def explain(self) -> str:
        verdict = {True: "passed", False: "FAILED", None: "UNKNOWN"}[self.passed]
        lines = [f"{self.name}: {verdict}", f"  expected: {self.expected}", f"  observed: {self.observed}"]
        lines += [f"  {k}: {v}" for k, v in self.evidence.items()]
        return "\n".join(lines)

    def to_dict(self) -> dict:
        return asdict(self)

    @property
    def known_defect(self) -> str | None:
        """The filed GlusterFS defect this failure is owed to, when every failed part is one
        (evidence "known_defect", set by the check that diagnosed it)."""
        return _known_defect(self.to_dict())


def _known_defect(result: dict) -> str | None:
    if result["passed"] is not False:
        return None
    evidence = result.get("evidence") or {}
    if evidence.get("known_defect"):
        return str(evidence["known_defect"])
    if result["name"] != "all":
        return None
    failed = [p for p in evidence.values() if isinstance(p, dict) and p.get("passed") is False]
    found = [_known_defect(p) for p in failed]
    return "; ".join(found) if failed and all(found) else None  # type: ignore[arg-type]


def all_passed(results: Iterable[CheckResult]) -> CheckResult:
    """Compose results like Jepsen's compose checker: any False -> False, else any unknown -> None."""
    results = list(results)
    verdicts = [r.passed for r in results]
    passed = False if False in verdicts else (None if None in verdicts else True)
    return CheckResult(
        name="all",
        passed=passed,
        observed={r.name: r.passed for r in results},
        expected="every check passed",
        evidence={r.name: r.to_dict() for r in results},  # passing parts too: gates read their figures
    )


class Recorder:
    """Appends JSON-lines records for one process (one file per pytest-xdist worker).

    Kinds in use: "scenario" (a conformance row), "workload", "heal", "timeline", "history".
    The controller merges every worker's file when it writes the run's reports.
    """

    def __init__(self, run_path: Path, worker: str) -> None:
        self.dir = run_path / RECORDS_DIR
        self.path = self.dir / f"{worker}.jsonl"

    def record(self, kind: str, data: dict, test: str | None = None) -> dict:
        self.dir.mkdir(parents=True, exist_ok=True)  # on first use: a session that records nothing writes nothing
        entry = {"kind": kind, "test": test, "time": time.time(), "pid": os.getpid(), **data}
        with open(self.path, "a") as fh:
            fh.write(json.dumps(entry, default=str) + "\n")
        return entry


def load_records(run_path: Path, kind: str | None = None) -> list[dict]:
    records = []
    for path in sorted((run_path / RECORDS_DIR).glob("*.jsonl")):
        for line in path.read_text().splitlines():
            if line.strip():
                entry = json.loads(line)
                if kind is None or entry["kind"] == kind:
                    records.append(entry)
    return records
