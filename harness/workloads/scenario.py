"""A workload across the phases of a fault: before, during the fault, during heal, after.

One workload (fio or locust, producing latency series) and the history clients run together
while the fault is injected, held, reverted, and the volume heals. The result holds per-phase
latency percentiles for every series, each client's unavailability windows and the history
verdict. Phase boundaries come from the fault's own Timeline events (start, revert confirmed)
and from the moment pending heal reached 0, so they line up with the run's fault shading.
"""
from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Sequence

from ..errors import ConfigError
from ..history import HistoryVerdict, Store, check_history, run_clients
from ..timeseries import Phase, PhaseStats, TimeSeries, percentiles, phase_percentiles, phases_from_marks
from ..waiting import wait_for

if TYPE_CHECKING:
    from ..faults import Fault
    from ..volume import Volume

log = logging.getLogger("harness.scenario")

Workload = Callable[[int], Sequence[TimeSeries]]  # runtime in s -> latency series
# Phase names shared with the report (harness/report/summary.schema.json); a baseline is "before".
BEFORE, DURING_FAULT, DURING_HEAL, AFTER = "before", "during_fault", "during_heal", "after"
WORKLOAD_GRACE_S = 180.0  # start-up and layout of a workload round beyond its runtime


@dataclass(frozen=True)
class PhasePlan:
    """How long each timed phase lasts; heal lasts as long as it takes (up to heal_timeout_s)."""

    before_s: float = 3.0
    # Time a workload takes to start measuring (fio's gfapi init, locust's start-up); left out of
    # every phase, so "before" holds only a running workload. With a `measured` count (run_phases)
    # it is the longest wait for the first operation; without one, a fixed allowance.
    startup_s: float = 0.0
    fault_s: float = 4.0
    after_s: float = 3.0
    heal_allowance_s: float = 8.0  # workload runtime into heal; then it pauses until heal is done
    heal_timeout_s: float = 120.0
    # Pause between a history client's operations: every write made while a brick is down is a
    # heal entry, and self-heal works through them one at a time (cluster.shd-max-threads 1).
    history_think_s: float = 0.05

    def __post_init__(self) -> None:
        if min(self.before_s, self.startup_s, self.fault_s, self.after_s, self.heal_allowance_s) < 0 \
                or self.heal_timeout_s <= 0:
            raise ConfigError(f"phase durations must be >= 0 and the heal timeout > 0, got {self}")

    def runtime_s(self, with_fault: bool, startup_s: float) -> int:
        """Workload runtime covering every phase (whole seconds, as fio and locust take it)."""
        if not with_fault:
            return max(1, round(startup_s + self.before_s + self.after_s))
        return max(1, round(startup_s + self.before_s + self.fault_s + self.heal_allowance_s + self.after_s + 0.5))


@dataclass
class WorkloadReport:
    access: str
    fault: str | None
    phases: list[Phase]
    latency: dict[str, list[PhaseStats]]
    series: list[TimeSeries]
    history: HistoryVerdict
    history_path: Path | None
    history_ops_per_s: float
    heal_s: float | None = None
    fault_effect: dict = field(default_factory=dict)

    def phase(self, series: str, name: str) -> PhaseStats:
        return next(p for p in self.latency[series] if p.name == name)

    def records(self, run_path: Path, out_dir: Path, scenario: str = "-") -> list[dict[str, Any]]:
        """Report records (kind "workload", one per series, and kind "history") following
        harness/report/summary.schema.json; series are written as JSON lines under out_dir."""
        windows = [asdict(u) | {"seconds": u.duration_s} for u in self.history.unavailability]
        history = {"valid": self.history.valid, "lost": self.history.lost, "phantom": self.history.phantom,
                   "unknown": len(self.history.unknown), "ops_per_s": self.history_ops_per_s,
                   "visibility": self.history.visibility, "counts": self.history.counts}
        rel = (lambda p: str(p.relative_to(run_path)) if p.is_relative_to(run_path) else str(p))
        out = []
        for series in self.series:
            path = out_dir / f"series-{series.name}.jsonl"
            path.write_text("".join(json.dumps({"t": p.t, "latency_ms": p.latency_ms, "op": series.name, "ok": p.ok})
                                    + "\n" for p in series.points))
            phases = {}
            for stats in self.latency[series.name]:
                in_phase = [p.latency_ms for p in series.points if p.ok and stats.start <= p.t < stats.end]
                phases[stats.name] = {
                    "count": stats.count, "p50_ms": stats.percentiles_ms.get("p50"),
                    "p95_ms": stats.percentiles_ms.get("p95"), "p99_ms": stats.percentiles_ms.get("p99"),
                    "p999_ms": stats.percentiles_ms.get("p99.9"), "max_ms": percentiles(in_phase, (100,))["p100"],
                    "ops_per_s": stats.rate_per_s}
            duration = max((series.end or 0) - (series.start or 0), 1e-9)
            out.append({"kind": "workload", "scenario": scenario, "name": series.name, "access": self.access,
                        "unit": "ms", "series_file": rel(path), "phases": phases,
                        "iops": len(series.points) / duration if series.points else None,
                        "unavailability": windows, "history": history, "fault": self.fault,
                        "history_file": rel(self.history_path) if self.history_path else None,
                        "heal_s": self.heal_s})
        out.append({"kind": "history", "scenario": scenario, "valid": self.history.valid, "lost": self.history.lost,
                    "phantom": self.history.phantom, "ops": sum(self.history.counts.values()) // 2,
                    "file": rel(self.history_path) if self.history_path else None})
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "access": self.access, "fault": self.fault, "phases": [asdict(p) for p in self.phases],
            "latency_ms_by_phase": {k: [s.to_dict() for s in v] for k, v in self.latency.items()},
            "unavailability": [asdict(u) | {"duration_s": u.duration_s} for u in self.history.unavailability],
            "history": {"valid": self.history.valid, "lost": len(self.history.lost),
                        "phantom": len(self.history.phantom), "unknown": len(self.history.unknown),
                        "visibility": self.history.visibility, "counts": self.history.counts,
                        "notes": self.history.notes, "ops_per_s": self.history_ops_per_s,
                        "path": str(self.history_path) if self.history_path else None},
            "heal_s": self.heal_s, "fault_effect": self.fault_effect,
        }


def wait_before_phase(access: str, plan: PhasePlan, workload_done: threading.Event,
                      measured: Callable[[], int] | None) -> None:
    """Let "before" last `plan.before_s`, and with a `measured` count until it holds an operation:
    one slow request (an S3 PUT took 2.2 s before any fault) can outlast the whole phase."""
    at_start = measured() if measured is not None else 0
    workload_done.wait(plan.before_s)
    if measured is not None:
        wait_for(lambda: measured() > at_start or workload_done.is_set(), timeout=plan.startup_s,
                 what=f"the {access} workload's first operation of the 'before' phase")


def run_phases(access: str, workload: Workload, stores: dict[str, Store], history_path: Path | None,
               volume: "Volume", fault: "Fault | None" = None, plan: PhasePlan = PhasePlan(),
               measured: Callable[[], int] | None = None) -> WorkloadReport:
    """Run `workload` and history clients on `stores` through the fault's phases (or a baseline).

    `measured` counts the operations the workload has measured so far: "before" starts at the first
    (a workload whose runtime counts from its first operation, like locust's, needs no start-up
    allowance in it), and the fault waits until "before" holds one. The fault is a context manager:
    it is reverted whatever happens. A workload that fails (fio exits non-zero under the fault)
    raises here after the fault is reverted.
    """
    from ..health import run_heal_command, wait_heal

    startup_s = plan.startup_s if measured is None else 0.0
    runtime = plan.runtime_s(fault is not None, startup_s)
    series: list[TimeSeries] = []
    errors: list[BaseException] = []

    after_go, after_done = threading.Event(), threading.Event()

    def drive() -> None:
        # Round one covers before, fault and heal_allowance_s of heal. The workload then pauses
        # until heal is done (gluster may never finish healing a file that is rewritten without
        # pause), and a second round measures the "after" phase.
        rounds: list[Sequence[TimeSeries]] = []
        try:
            rounds.append(workload(runtime))
            if fault is not None:
                after_go.wait()
                if not orchestration_failed.is_set():
                    rounds.append(workload(max(1, round(startup_s + plan.after_s))))
        except BaseException as exc:  # re-raised in the caller's thread
            errors.append(exc)
        finally:
            after_done.set()
        series.extend(merge_rounds(rounds))

    marks: list[tuple[str, float]] = []
    heal_s: list[float] = []
    orchestration_failed = threading.Event()

    def orchestrate() -> None:
        try:
            if measured is None:
                after_done.wait(plan.startup_s)
            else:
                wait_for(lambda: measured() > 0 or after_done.is_set(), timeout=plan.startup_s,
                         what=f"the {access} workload's first operation")
            start = time.time()
            marks.append((BEFORE, start))
            if fault is None:
                after_done.wait(runtime + WORKLOAD_GRACE_S)  # history runs as long as the workload
                return
            wait_before_phase(access, plan, after_done, measured)
            with fault:
                after_done.wait(plan.fault_s)
            events = {e.phase: e.wall for e in fault.timeline.for_fault(fault.fault_id)}
            marks.append((DURING_FAULT, events.get("start", start)))
            marks.append((DURING_HEAL, events.get("revert-confirmed", time.time())))
            heal_start = time.monotonic()
            observer = volume.cluster.nodes[-1]  # outside every fault the workload suite injects
            # The self-heal daemons may not have seen the fault (an idle daemon never notices a
            # hang), which would leave the clients' pending entries to the 600 s crawl.
            run_heal_command(volume, via=observer)
            wait_heal(volume, plan.heal_timeout_s, via=observer)
            heal_s.append(time.monotonic() - heal_start)
            marks.append((AFTER, time.time()))
        except BaseException:
            orchestration_failed.set()
            raise
        finally:
            after_go.set()
        after_done.wait(runtime + WORKLOAD_GRACE_S)

    worker = threading.Thread(target=drive, name=f"workload-{access}", daemon=True)
    worker.start()
    try:
        history = run_clients(stores, duration_s=0, path=history_path, during=orchestrate,
                              think_s=plan.history_think_s)
    finally:
        after_go.set()
        worker.join(runtime + WORKLOAD_GRACE_S)
    end = time.time()  # the last phase lasts until the workload is done
    if errors:
        raise errors[0]
    if worker.is_alive():
        raise ConfigError(f"the {access} workload did not finish within {runtime + WORKLOAD_GRACE_S} s")
    phases = phases_from_marks(sorted(marks, key=lambda m: m[1]), end)
    verdict = check_history(history.ops)
    report = WorkloadReport(
        access, fault.kind if fault else None, phases,
        {s.name: phase_percentiles(s, phases) for s in series}, series, verdict, history_path, history.ops_per_s,
        heal_s[0] if heal_s else None, dict(fault.effect) if fault else {},
    )
    log.info("%s workload%s: history %s, %d unavailability window(s)", access,
             f" under {fault.kind}" if fault else "", verdict.valid, len(verdict.unavailability))
    return report


def merge_rounds(rounds: Sequence[Sequence[TimeSeries]]) -> list[TimeSeries]:
    """One series per name from the workload's successive rounds (points and intervals joined)."""
    merged: dict[str, TimeSeries] = {}
    for round_ in rounds:
        for s in round_:
            prev = merged.get(s.name)
            merged[s.name] = s if prev is None else TimeSeries(
                s.name, prev.points + s.points, prev.intervals + s.intervals, s.source, s.unit)
    return list(merged.values())
