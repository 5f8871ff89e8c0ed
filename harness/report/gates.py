"""CI gates: limits from a thresholds file (TOML), evaluated against a summary's metrics.

File shape (see gates/thresholds.toml):

    [fast]                      # one table per profile
    max_heal_s = 60
    regression_pct = 25         # baseline comparison defaults may live here too
    [fast.scenarios.S1]         # per-scenario overrides
    exempt = ["max_split_brain_entries"]
    [fast.scenarios.N1]
    max_unavailability_s = 20

Every problem with the file is a ConfigError naming the file and what to fix.
"""
from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import ConfigError

DEFAULT_THRESHOLDS = Path(__file__).resolve().parents[2] / "gates" / "thresholds.toml"

# gate key -> (metric in summary["metrics"][scenario], unit)
GATES: dict[str, tuple[str, str]] = {
    "max_heal_s": ("heal_s", "s"),
    "max_fault_p99_ms": ("fault_p99_ms", "ms"),
    "max_unavailability_s": ("unavailability_s", "s"),
    "max_lost_writes": ("lost_writes", ""),
    "max_split_brain_entries": ("split_brain_entries", ""),
    "max_provision_p99_s": ("provision_p99_s", "s"),
}
# baseline settings that may sit beside the gates
BASELINE_KEYS = {"regression_pct", "regression_min_ms", "regression_min_s", "regression_min_iops"}


@dataclass(frozen=True)
class ScenarioOverride:
    limits: dict[str, float] = field(default_factory=dict)
    exempt: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Thresholds:
    file: Path
    profile: str
    limits: dict[str, float]
    scenarios: dict[str, ScenarioOverride]
    baseline: dict[str, float]

    def limit_for(self, gate: str, scenario: str) -> float | None:
        """The limit of `gate` for `scenario`, or None when the gate is off or the scenario exempt."""
        override = self.scenarios.get(scenario)
        if override and gate in override.exempt:
            return None
        if override and gate in override.limits:
            return override.limits[gate]
        return self.limits.get(gate)


def load_thresholds(path: Path | str | None, profile: str) -> Thresholds:
    """Read the limits for `profile`; raise ConfigError naming the file and the problem."""
    file = Path(path) if path is not None else DEFAULT_THRESHOLDS
    try:
        data = tomllib.loads(file.read_text())
    except FileNotFoundError:
        raise ConfigError(f"thresholds file {file} does not exist; pass an existing file with --thresholds "
                          f"(the defaults are in {DEFAULT_THRESHOLDS})") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"thresholds file {file} cannot be read: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"thresholds file {file} is not valid TOML: {exc}") from None
    table = data.get(profile)
    if not isinstance(table, dict):
        raise ConfigError(f"thresholds file {file} has no [{profile}] table for profile {profile!r}; "
                          f"tables found: {', '.join(sorted(data)) or 'none'}")
    where = f"thresholds file {file}, [{profile}]"
    scenarios_raw = table.get("scenarios", {})
    if not isinstance(scenarios_raw, dict):
        raise ConfigError(f"{where}: 'scenarios' must be a table of [{profile}.scenarios.<ID>] tables")
    limits = _numbers({k: v for k, v in table.items() if k != "scenarios" and k not in BASELINE_KEYS}, where)
    baseline = _numbers({k: v for k, v in table.items() if k in BASELINE_KEYS}, where, allowed=BASELINE_KEYS)
    scenarios = {}
    for scenario, raw in scenarios_raw.items():
        swhere = f"thresholds file {file}, [{profile}.scenarios.{scenario}]"
        if not isinstance(raw, dict):
            raise ConfigError(f"{swhere} must be a table")
        exempt = raw.get("exempt", [])
        if not isinstance(exempt, list) or any(e not in GATES for e in exempt):
            raise ConfigError(f"{swhere}: exempt must be a list of gate names from: {', '.join(GATES)}; got {exempt!r}")
        scenarios[str(scenario)] = ScenarioOverride(
            _numbers({k: v for k, v in raw.items() if k != "exempt"}, swhere), frozenset(exempt))
    return Thresholds(file, profile, limits, scenarios, baseline)


def _numbers(table: dict, where: str, allowed: set[str] | dict | None = None) -> dict[str, float]:
    allowed = GATES if allowed is None else allowed
    out = {}
    for key, value in table.items():
        if key not in allowed:
            raise ConfigError(f"{where}: unknown key {key!r}; known keys: {', '.join(sorted(allowed))}")
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
            raise ConfigError(f"{where}: {key} must be a number >= 0, got {value!r}")
        out[key] = float(value)
    return out


@dataclass(frozen=True)
class GateResult:
    gate: str
    scenario: str
    limit: float
    measured: float | str  # "timed out" when a heal never finished
    unit: str
    passed: bool

    @property
    def line(self) -> str:
        """One line for the terminal and CI logs: gate, limit, measured, scenario."""
        measured = self.measured if isinstance(self.measured, str) else f"{_fmt(self.measured)}{_u(self.unit)}"
        verdict = "ok" if self.passed else "VIOLATED"
        return (f"gate {self.gate} {verdict}: limit {_fmt(self.limit)}{_u(self.unit)}, measured {measured}, "
                f"scenario {self.scenario}")

    def to_dict(self) -> dict:
        return {"gate": self.gate, "scenario": self.scenario, "limit": self.limit, "measured": self.measured,
                "unit": self.unit, "passed": self.passed, "line": self.line}


def evaluate(metrics: dict[str, dict], thresholds: Thresholds) -> list[GateResult]:
    """Check every measured metric of every scenario against its limit; unmeasured ones are skipped."""
    results = []
    for scenario, values in sorted(metrics.items()):
        for gate, (metric, unit) in GATES.items():
            limit = thresholds.limit_for(gate, scenario)
            if limit is None:
                continue
            if metric == "heal_s" and values.get("heal_timed_out"):
                results.append(GateResult(gate, scenario, limit, "timed out", unit, False))
                continue
            measured = values.get(metric)
            if measured is None:
                continue
            results.append(GateResult(gate, scenario, limit, measured, unit, measured <= limit))
    return results


def gate_report(results: list[GateResult], thresholds: Thresholds) -> dict:
    """The "gates" section of summary.json."""
    return {"file": str(thresholds.file), "profile": thresholds.profile,
            "results": [r.to_dict() for r in results],
            "violations": [r.to_dict() for r in results if not r.passed]}


def _fmt(value: float) -> str:
    return f"{value:.3f}".rstrip("0").rstrip(".") if isinstance(value, float) else str(value)


def _u(unit: str) -> str:
    return f" {unit}" if unit else ""
