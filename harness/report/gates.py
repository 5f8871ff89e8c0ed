"""CI gates: limits from a thresholds file (TOML), evaluated against a summary's metrics.

File shape (see gates/thresholds.toml):

    [fast]                      # one table per profile
    max_heal_s = 60
    regression_pct = 25         # baseline comparison defaults may live here too
    [fast.scenarios.S1]         # per-scenario overrides
    exempt = ["max_split_brain_entries"]
    [fast.scenarios.N1]
    max_unavailability_s = 20
    [fast.access.s3]            # per-access limits of the workload gates: they raise a
    max_fault_p99_ms = 5000     # scenario's limit for that access's workloads, never lower it

Every problem with the file is a ConfigError naming the file and what to fix.
"""
from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

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
# gates measured per workload, which an [<profile>.access.<access>] table may raise for one access
WORKLOAD_GATES: dict[str, Callable[[dict], float | None]] = {
    "max_fault_p99_ms": lambda w: (w["phases"].get("during_fault") or {}).get("p99_ms"),
    "max_unavailability_s": lambda w: w["max_unavailability_s"],
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
    access: dict[str, dict[str, float]] = field(default_factory=dict)

    def limit_for(self, gate: str, scenario: str, access: str | None = None) -> float | None:
        """The limit of `gate` for `scenario` (and a workload's `access`), or None when the gate is off
        or the scenario exempt. An access's limit raises the scenario's, never lowers it."""
        override = self.scenarios.get(scenario)
        if override and gate in override.exempt:
            return None
        limit = override.limits[gate] if override and gate in override.limits else self.limits.get(gate)
        raised = self.access.get(access or "", {}).get(gate)
        return limit if raised is None or limit is None else max(limit, raised)


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
    limits = _numbers({k: v for k, v in table.items() if k not in ("scenarios", "access") and k not in BASELINE_KEYS},
                      where)
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
    access_raw = table.get("access", {})
    if not isinstance(access_raw, dict) or not all(isinstance(v, dict) for v in access_raw.values()):
        raise ConfigError(f"{where}: 'access' must hold [{profile}.access.<access>] tables (file, block, gfapi, s3)")
    access = {str(name): _numbers(raw, f"thresholds file {file}, [{profile}.access.{name}]", allowed=WORKLOAD_GATES)
              for name, raw in access_raw.items()}
    return Thresholds(file, profile, limits, scenarios, baseline, access)


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
    access: str | None = None  # the workloads of one access, judged by its raised limit

    @property
    def line(self) -> str:
        """One line for the terminal and CI logs: gate, limit, measured, scenario (and access)."""
        measured = self.measured if isinstance(self.measured, str) else f"{_fmt(self.measured)}{_u(self.unit)}"
        verdict = "ok" if self.passed else "VIOLATED"
        return (f"gate {self.gate} {verdict}: limit {_fmt(self.limit)}{_u(self.unit)}, measured {measured}, "
                f"scenario {self.scenario}" + (f", access {self.access}" if self.access else ""))

    def to_dict(self) -> dict:
        return {"gate": self.gate, "scenario": self.scenario, "limit": self.limit, "measured": self.measured,
                "unit": self.unit, "passed": self.passed, "line": self.line,
                **({"access": self.access} if self.access else {})}


def evaluate(metrics: dict[str, dict], thresholds: Thresholds, workloads: list[dict] = ()) -> list[GateResult]:
    """Check every measured metric of every scenario against its limit; unmeasured ones are skipped.
    A workload gate an access table raises is judged per access from the summary's `workloads`: that
    access's worst value against its raised limit, the other workloads' worst against the scenario's;
    without those workloads, the scenario's worst value against the scenario's own limit."""
    results = []
    for scenario, values in sorted(metrics.items()):
        for gate, (metric, unit) in GATES.items():
            limit = thresholds.limit_for(gate, scenario)
            if limit is None:
                continue
            raised = sorted(a for a, gates in thresholds.access.items() if gate in gates)
            per_access = _per_access(gate, scenario, unit, thresholds, raised,
                                     [w for w in workloads if w["scenario"] == scenario]) if raised else []
            if per_access:
                results += per_access
                continue
            if metric == "heal_s" and values.get("heal_timed_out"):
                results.append(GateResult(gate, scenario, limit, "timed out", unit, False))
                continue
            measured = values.get(metric)
            if measured is None:
                continue
            results.append(GateResult(gate, scenario, limit, measured, unit, measured <= limit))
    return results


def _per_access(gate: str, scenario: str, unit: str, thresholds: Thresholds, raised: list[str],
                workloads: list[dict]) -> list[GateResult]:
    if gate not in WORKLOAD_GATES:
        return []
    groups: dict[str | None, list[float]] = {}
    for w in workloads:
        value = WORKLOAD_GATES[gate](w)
        if value is not None:
            groups.setdefault(w["access"] if w["access"] in raised else None, []).append(value)
    results = []
    for access, values in sorted(groups.items(), key=lambda g: g[0] or ""):
        limit = thresholds.limit_for(gate, scenario, access)
        if limit is not None:
            results.append(GateResult(gate, scenario, limit, max(values), unit, max(values) <= limit, access))
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
