"""Run chaostoolkit experiments through chaoslib against a harness cluster, and judge journals.

`run_experiment_file` loads, validates and runs one experiment file with the cluster's identity
in its configuration; `check_journal` turns the journal into a CheckResult saying which probe
or activity broke the promise (the pytest suite and its negative controls both use it).
"""
from __future__ import annotations

import importlib
import json
import logging
from pathlib import Path
from typing import Any, Mapping

from ..control import Need
from ..errors import ConfigError
from ..results import CheckResult
from .target import HEAL_TIMEOUT_KEY, RUN_ID_KEY, TIMELINE_KEY, VOLUME_KEY

NOTES_LOGGER = "chaostoolkit.glusterharness"
EXPERIMENTS_DIR = Path(__file__).resolve().parents[2] / "chaos"
# Rollbacks revert faults even when the run was interrupted; chaostoolkit's default skips them then.
SETTINGS: dict[str, Any] = {"runtime": {"rollbacks": {"strategy": "always"}}}


class _Notes(logging.Handler):
    """Collects the extension's warnings (a probe's reason for False) during one run."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


def experiment_files(directory: Path = EXPERIMENTS_DIR) -> list[Path]:
    """Every experiment of the chaos/ folder, sorted by name."""
    return sorted(Path(directory).glob("*.json"))


def experiment_needs(path: Path) -> list[Need]:
    """What an experiment's activities need of the cluster (their module's NEEDS, by function), in
    order, each once: a test running it declares them, so a cluster lacking one skips it, named."""
    experiment = json.loads(Path(path).read_text())
    states = experiment.get("steady-state-hypothesis") or {}
    activities = [*states.get("probes", []), *experiment.get("method", []), *experiment.get("rollbacks", [])]
    needs: list[Need] = []
    for activity in activities:
        provider = activity.get("provider") or {}
        if provider.get("type") == "python" and str(provider.get("module", "")).startswith("harness."):
            declared = getattr(importlib.import_module(provider["module"]), "NEEDS", {})
            needs += [n for n in declared.get(provider.get("func"), ()) if n not in needs]
    return needs


def load(path: Path | str | Mapping[str, Any]) -> dict[str, Any]:
    """An experiment from a file (or a dict, copied), validated by chaoslib; ConfigError naming
    the file and what chaoslib objected to."""
    from chaoslib.exceptions import ChaosException
    from chaoslib.experiment import ensure_experiment_is_valid
    from chaoslib.loader import load_experiment

    where = "experiment" if isinstance(path, Mapping) else str(path)
    try:
        experiment = json.loads(json.dumps(path)) if isinstance(path, Mapping) else load_experiment(str(path))
        ensure_experiment_is_valid(experiment)
    except ChaosException as exc:
        raise ConfigError(f"{where} is not a valid chaostoolkit experiment: {exc}; check it with "
                          f"`chaos --no-version-check validate {where}`") from None
    return experiment


def run_experiment_file(path: Path | str | Mapping[str, Any], run_id: str, volume: str | None = None,
                        timeline: Path | None = None, heal_timeout: float | None = None,
                        journal_path: Path | None = None) -> dict[str, Any]:
    """Run an experiment against cluster `run_id` (and `volume`) with chaoslib; rollbacks always
    run. Returns the journal, also written to journal_path when given. Ctrl-C or SIGTERM during
    the run: chaoslib ends it as "interrupted" after its rollbacks, and this re-raises
    KeyboardInterrupt so that the caller (a pytest session) stops instead of going on."""
    from chaoslib.experiment import run_experiment
    from chaoslib.run import RunEventHandler

    class SignalSeen(RunEventHandler):
        seen = False

        def signal_exit(self) -> None:
            self.seen = True

    experiment = load(path)
    config: dict[str, Any] = {RUN_ID_KEY: run_id}
    if volume:
        config[VOLUME_KEY] = volume
    if timeline is not None:
        config[TIMELINE_KEY] = str(timeline)
    if heal_timeout is not None:
        config[HEAL_TIMEOUT_KEY] = str(heal_timeout)
    missing = [k for k in config if k not in experiment.get("configuration", {})]
    if missing:
        raise ConfigError(f"{path if not isinstance(path, Mapping) else 'experiment'} does not declare the "
                          f"configuration keys {missing}; add them (see chaos/node-crash.json)")
    notes = _Notes()
    logger = logging.getLogger(NOTES_LOGGER)
    logger.addHandler(notes)
    try:
        logger.info("running %s against %s", experiment.get("title"), run_id)
        signal = SignalSeen()
        journal = run_experiment(experiment, settings=json.loads(json.dumps(SETTINGS)), experiment_vars=(config, {}),
                                 event_handlers=[signal])
    finally:
        logger.removeHandler(notes)
    journal["glusterharness_notes"] = notes.lines  # why probes were False, which chaoslib does not keep
    if journal_path is not None:
        journal_path.parent.mkdir(parents=True, exist_ok=True)
        journal_path.write_text(json.dumps(journal, indent=1, default=str))
    if signal.seen:
        raise KeyboardInterrupt(f"experiment {experiment.get('title')!r} interrupted by a signal; its rollbacks ran")
    return journal


def _ran(journal: Mapping[str, Any]) -> str:
    """A run that met every expectation, with its figures: how long, how many probes and activities."""
    states = journal.get("steady_states") or {}
    probes = [len((states.get(k) or {}).get("probes") or []) for k in ("before", "after")]
    run, rollbacks = journal.get("run") or [], journal.get("rollbacks") or []
    return (f"completed in {float(journal.get('duration') or 0.0):.1f} s, no deviation: steady state met before "
            f"({probes[0]} probes) and after ({probes[1]} probes); {len(run)} method activities and "
            f"{len(rollbacks)} rollbacks succeeded")


def _failed_probes(state: Mapping[str, Any] | None) -> list[str]:
    out = []
    for p in (state or {}).get("probes", []):
        if p.get("status") != "succeeded" or not p.get("tolerance_met", False):
            why = p.get("exception") or f"output {p.get('output')!r}, tolerance {p['activity'].get('tolerance')!r}"
            out.append(f"{p['activity']['name']} ({''.join(why).strip().splitlines()[-1] if isinstance(why, list) else why})")
    return out


def _failed_activities(runs: list[Mapping[str, Any]] | None) -> list[str]:
    return [f"{r['activity']['name']} ({''.join(r.get('exception') or ['no exception']).strip().splitlines()[-1]})"
            for r in runs or [] if r.get("status") != "succeeded"]


def _findings(runs: list[Mapping[str, Any]]) -> list[dict]:
    """Defects an activity reported in its output (harness.chaos.upgrade: effect.findings)."""
    found = []
    for r in runs:
        output = r.get("output")
        effect = output.get("effect") if isinstance(output, Mapping) else None
        if isinstance(effect, Mapping):
            found.extend(f for f in effect.get("findings") or [] if isinstance(f, Mapping) and f.get("issue"))
    return found


def check_journal(journal: Mapping[str, Any], name: str | None = None) -> CheckResult:
    """Passed when the run completed, the steady state held before and after the method (no
    deviation) and every method activity and rollback succeeded. Observed names each probe and
    activity that failed, with its output or exception."""
    title = name or journal.get("experiment", {}).get("title", "experiment")
    states = journal.get("steady_states") or {}
    problems: dict[str, Any] = {}
    if journal.get("status") != "completed":
        problems["status"] = journal.get("status")
    before = states.get("before")
    if before is not None and not before.get("steady_state_met"):
        problems["steady state before the method did not hold; failed probes"] = _failed_probes(before)
    after = states.get("after")
    if journal.get("deviated") or (after is not None and not after.get("steady_state_met")):
        problems["steady state deviated after the method; failed probes"] = _failed_probes(after)
    elif after is None and before is not None and before.get("steady_state_met"):
        problems["steady state after the method"] = "was not checked (the method was aborted)"
    failed = _failed_activities(journal.get("run"))
    if failed:
        problems["method activities failed"] = failed
    failed = _failed_activities(journal.get("rollbacks"))
    if failed:
        problems["rollbacks failed"] = failed
    findings = _findings([*(journal.get("run") or []), *(journal.get("rollbacks") or [])])
    if findings:
        problems["GlusterFS defects met (worked around where said)"] = [
            f"{f['issue']} on {f['node']} at {f['version']}{' (worked around)' if f.get('worked_around') else ''}: "
            f"{str(f.get('observed', ''))[:200]}" for f in findings]
    # A defect the experiment only got through by a workaround is a known defect, never a pass.
    known = sorted({f["issue"] for f in findings}) if findings and all(f.get("worked_around") for f in findings) \
        and len(problems) == 1 else []
    return CheckResult(
        name=f"chaos experiment: {title}",
        passed=not problems,
        observed=problems or _ran(journal),
        expected="status completed, steady state met before and after (no deviation), every activity succeeded, "
                 "no GlusterFS defect met",
        evidence={**({"known_defect": "; ".join(known)} if known else {}),
                  "why (the extension's warnings)": journal.get("glusterharness_notes") or [],
                  "duration_s": round(float(journal.get("duration") or 0.0), 1),
                  "activities": [f"{r['activity']['name']}={r.get('status')} ({r.get('duration', 0):.1f} s)"
                                 for r in [*(journal.get("run") or []), *(journal.get("rollbacks") or [])]]},
    )
