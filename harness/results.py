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
        expected, observed = (self.expected, self.observed) if self.name != COMPOSED else result_words(self.to_dict())
        lines = [f"{self.name}: {verdict}", f"  expected: {expected}", f"  observed: {observed}"]
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


COMPOSED = "all"  # the name all_passed gives a composed result; its parts live in its evidence
VERDICT_WORDS = {True: "", False: " (FAILED)", None: " (UNKNOWN)"}
MAX_LISTED = 8


def result_words(result: dict) -> tuple[str, str]:
    """(expected, observed) of a result (CheckResult.to_dict()) in words, check by check: a composed
    result lists each part's own expectation and observation, e.g. observed "client can write: read
    ENOTCONN, write ENOTCONN; self-heal completes: pending heal 0 after 6.2 s". A reader settles a
    claim from these; a bare boolean per check would not say what was seen."""
    parts = _parts(result)
    expected = "; ".join(f"{p['name']}: {describe(p.get('expected'))}" for p in parts)
    observed = "; ".join(f"{p['name']}: {describe(p.get('observed'))}{VERDICT_WORDS.get(p.get('passed'), '')}"
                         for p in parts)
    # A composed verdict names the parts it is owed to first: a row "unknown" whose evidence shows
    # only passing parts leaves its reader nowhere.
    not_passed = [f"{p['name']}{VERDICT_WORDS.get(p.get('passed'), '')}" for p in parts if p.get("passed") is not True]
    if result.get("name") == COMPOSED and not_passed:
        observed = f"not passed: {', '.join(not_passed)}. {observed}"
    return expected, observed


def _parts(result: dict, depth: int = 0) -> list[dict]:
    """The checks a result is made of: itself, or (composed, also nested) its parts in order."""
    evidence = result.get("evidence") or {}
    parts = [p for p in evidence.values() if isinstance(p, dict) and {"name", "passed", "observed"} <= set(p)]
    if result.get("name") != COMPOSED or not parts or depth > 4:
        return [result]
    return [leaf for p in parts for leaf in _parts(p, depth + 1)]


def describe(value: Any, nested: bool = False) -> str:
    """A check's expected or observed value in words: dicts as "key value, ...", lists by their
    items ("none" when empty), booleans as yes/no, numbers without trailing noise."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "yes" if value else "no"
    if value is None:
        return "unknown"
    if isinstance(value, float):
        return f"{value:.3f}".rstrip("0").rstrip(".")
    if isinstance(value, dict):
        text = ", ".join(f"{str(k).replace('_', ' ')} {describe(v, True)}" for k, v in value.items())
        return f"({text})" if nested and len(value) > 1 else (text or "none")
    if isinstance(value, (list, tuple, set)):
        items = [describe(v, True) for v in list(value)[:MAX_LISTED]]
        more = f" and {len(value) - MAX_LISTED} more" if len(value) > MAX_LISTED else ""
        text = ", ".join(items) + more
        return "none" if not items else (f"[{text}]" if nested and len(items) > 1 else text)
    return str(value)


def all_passed(results: Iterable[CheckResult]) -> CheckResult:
    """Compose results like Jepsen's compose checker: any False -> False, else any unknown -> None.

    Every part is kept in order, a composed part's own parts in its place; a name met again is made
    distinct ("NAME #2"), so no part hides another. Observed is the parts' observations in words,
    led by the names of the parts that did not pass (result_words).
    """
    parts: list[dict] = []
    for r in results:
        parts += _parts(r.to_dict()) if r.name == COMPOSED else [r.to_dict()]
    seen: dict[str, int] = {}
    for part in parts:
        seen[part["name"]] = seen.get(part["name"], 0) + 1
        if seen[part["name"]] > 1:
            part["name"] = f"{part['name']} #{seen[part['name']]}"
    verdicts = [p["passed"] for p in parts]
    passed = False if False in verdicts else (None if None in verdicts else True)
    evidence = {p["name"]: p for p in parts}  # passing parts too: gates read their figures
    return CheckResult(name=COMPOSED, passed=passed,
                       observed=result_words({"name": COMPOSED, "evidence": evidence})[1],
                       expected="every check passed", evidence=evidence)


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
