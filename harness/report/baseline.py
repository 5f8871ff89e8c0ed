"""Baselines: compare a run's summary.json with an earlier one (before an upgrade, say).

Compared per scenario: p50 and p99 of every workload phase present in both runs, each workload's
IOPS, and the heal time. Latency and heal time regress when they rise, IOPS when it falls, by
more than `regression_pct` percent AND by more than a small absolute amount (so 0.2 ms -> 0.3 ms
is not a "50 % regression").
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from ..errors import ConfigError
from .summary import validate_summary

DEFAULT_REGRESSION_PCT = 20.0
DEFAULT_FLOORS = {"ms": 2.0, "s": 2.0, "iops": 20.0}


@dataclass(frozen=True)
class Row:
    scenario: str
    metric: str  # e.g. "fio-randwrite-file during_fault p99_ms", "heal_s"
    baseline: float | None
    current: float | None
    higher_is_worse: bool
    regressed: bool

    @property
    def change_pct(self) -> float | None:
        if self.baseline is None or self.current is None or self.baseline == 0:
            return None
        return (self.current - self.baseline) / self.baseline * 100.0

    @property
    def line(self) -> str:
        if self.current is None:
            return f"baseline {self.scenario} {self.metric}: {_f(self.baseline)} in the baseline, not measured now"
        if self.baseline is None:
            return f"baseline {self.scenario} {self.metric}: new, {_f(self.current)} (not in the baseline)"
        change = self.change_pct
        change_text = f"{change:+.1f} %" if change is not None else "n/a"
        verdict = "REGRESSION" if self.regressed else "ok"
        return (f"baseline {self.scenario} {self.metric} {verdict}: {_f(self.baseline)} -> {_f(self.current)} "
                f"({change_text})")

    def to_dict(self) -> dict:
        change = self.change_pct
        return {"scenario": self.scenario, "metric": self.metric, "baseline": self.baseline, "current": self.current,
                "change_pct": None if change is None else round(change, 2), "regressed": self.regressed,
                "line": self.line}


def load_summary(path: Path | str, role: str = "baseline") -> dict:
    """Read and validate a summary.json; ConfigError names the file and the problem."""
    file = Path(path)
    try:
        data = json.loads(file.read_text())
    except FileNotFoundError:
        raise ConfigError(f"{role} file {file} does not exist; pass the summary.json of an earlier run "
                          f"(reports/<run-id>/summary.json)") from None
    except IsADirectoryError:
        raise ConfigError(f"{role} file {file} is a directory; pass its summary.json") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{role} file {file} cannot be read: {exc}") from None
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{role} file {file} is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{role} file {file} is not a run summary: expected a JSON object, got {type(data).__name__}")
    try:
        validate_summary(data)
    except ConfigError as exc:
        raise ConfigError(f"{role} file {file} is not a run summary: {exc}") from None
    return data


def comparable(summary: dict) -> dict[tuple[str, str], tuple[float, bool, str]]:
    """(scenario, metric) -> (value, higher_is_worse, unit kind) for everything a baseline compares."""
    out: dict[tuple[str, str], tuple[float, bool, str]] = {}
    for w in summary["workloads"]:
        for phase, stats in w["phases"].items():
            for q in ("p50_ms", "p99_ms"):
                if stats.get(q) is not None:
                    out[(w["scenario"], f"{w['name']} {phase} {q}")] = (float(stats[q]), True, "ms")
        if w.get("iops") is not None:
            out[(w["scenario"], f"{w['name']} iops")] = (float(w["iops"]), False, "iops")
    for scenario, m in summary["metrics"].items():
        if m.get("heal_s") is not None:
            out[(scenario, "heal_s")] = (float(m["heal_s"]), True, "s")
    return out


def compare(baseline: dict, current: dict, regression_pct: float = DEFAULT_REGRESSION_PCT,
            floors: dict[str, float] | None = None) -> list[Row]:
    """Rows for every metric in either summary, sorted; `regressed` marks the failures."""
    floors = {**DEFAULT_FLOORS, **(floors or {})}
    before, after = comparable(baseline), comparable(current)
    rows = []
    for key in sorted(set(before) | set(after)):
        b, a = before.get(key), after.get(key)
        worse = (b or a)[1]  # type: ignore[index]
        regressed = False
        if a is not None and b is not None:
            delta = (a[0] - b[0]) if worse else (b[0] - a[0])
            regressed = delta > floors[b[2]] and delta > abs(b[0]) * regression_pct / 100.0
        rows.append(Row(key[0], key[1], b[0] if b else None, a[0] if a else None, worse, regressed))
    return rows


def baseline_report(rows: list[Row], file: Path | str, baseline: dict, regression_pct: float) -> dict:
    """The "baseline" section of summary.json."""
    return {"file": str(file), "baseline_run_id": baseline["run_id"], "regression_pct": regression_pct,
            "rows": [r.to_dict() for r in rows]}


def format_table(rows: list[Row]) -> list[str]:
    """A readable table for `python -m harness compare` and the terminal summary."""
    header = ("scenario", "metric", "baseline", "current", "change", "verdict")
    table = [header]
    for r in rows:
        change = r.change_pct
        verdict = "REGRESSION" if r.regressed else ("missing" if r.current is None else ("new" if r.baseline is None else "ok"))
        table.append((r.scenario, r.metric, _f(r.baseline), _f(r.current),
                      "" if change is None else f"{change:+.1f} %", verdict))
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    return ["  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in table]


def _f(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.3f}".rstrip("0").rstrip(".")
