"""The checker: no acknowledged write lost, no phantom value, and the windows in which a client
completed nothing (unavailability), from a history alone."""
from __future__ import annotations

import math
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any, Sequence

from .ops import DEFAULT_STALL_S, FINAL_PROCESS, Op, OpType


# Checker: a pure function of the history.

@dataclass(frozen=True)
class Unavailability:
    """A stretch in which a client completed no operation: its operations failed, had unknown
    outcome, or stalled. A stalled operation that succeeds ends its window, since the client made
    progress, however late: slow successes in a row are latency, each its own window, not one
    outage (three 1-2.4 s S3 writes during a heal once read as 5.8 s unavailable)."""

    process: str
    start: float  # invoke of the first bad operation
    end: float  # completion of the last bad operation before a good one (or the history's end)
    closed: bool  # False when the history ends inside it (no operation succeeded after)
    errors: dict[str, int]

    @property
    def duration_s(self) -> float:
        return self.end - self.start


@dataclass(frozen=True)
class HistoryVerdict:
    valid: bool | None  # False: anomalies found; None: could not tell (nothing read back, checker error)
    lost: list[dict]  # acknowledged writes the final read did not return
    phantom: list[dict]  # reads of values no client ever tried to write
    unknown: list[dict]  # acknowledged writes whose final read failed or never happened
    unavailability: list[Unavailability]
    visibility: dict[str, Any]  # time from a write's ack to another client first reading it
    counts: dict[str, int]
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        data = asdict(self)
        for w, u in zip(data["unavailability"], self.unavailability):
            w["duration_s"] = u.duration_s
        return data

    def to_check_result(self, name: str = "no acknowledged write lost") -> Any:
        from ..results import CheckResult

        return CheckResult(
            name=name, passed=self.valid,
            observed={"ops": {t.value: self.counts.get(t.value, 0) for t in (OpType.OK, OpType.FAIL, OpType.INFO)},
                      "lost": len(self.lost), "phantom": len(self.phantom), "unknown": len(self.unknown)},
            expected={"lost": 0, "phantom": 0},
            evidence={"lost": self.lost[:20], "phantom": self.phantom[:20], "unknown": self.unknown[:20],
                      "unavailability": [asdict(u) for u in self.unavailability], "counts": self.counts,
                      "notes": self.notes},
        )


def _pairs(ops: Sequence[Op]) -> list[tuple[Op, Op | None]]:
    """(invoke, completion) per operation; completion None when missing."""
    open_: dict[str, Op] = {}
    out: list[tuple[Op, Op | None]] = []
    slots: dict[int, int] = {}
    for op in sorted(ops, key=lambda o: o.index):
        if op.type is OpType.INVOKE:
            open_[op.process] = op  # a process does one thing at a time
            slots[op.index] = len(out)
            out.append((op, None))
        else:
            inv = open_.pop(op.process, None)
            if inv is not None:
                out[slots[inv.index]] = (inv, op)
    return out


def _lag_stats(lags: list[float]) -> dict[str, float | None]:
    ordered = sorted(lags)

    def q(p: float) -> float | None:
        return ordered[max(1, math.ceil(p * len(ordered))) - 1] if ordered else None

    return {"p50_s": q(0.5), "p99_s": q(0.99), "max_s": ordered[-1] if ordered else None}


def check_history(ops: Sequence[Op], stall_s: float = DEFAULT_STALL_S) -> HistoryVerdict:
    """Lost acknowledged writes, phantom reads, per-client unavailability and visibility lag.

    Pure: the same ops give the same verdict. Never raises for a malformed history: the verdict
    is then unknown (valid None) with the reason in `notes`.
    """
    try:
        return _check(ops, stall_s)
    except Exception as exc:  # a checker crash must not hide behind a test error
        return HistoryVerdict(None, [], [], [], [], {}, {}, [f"checker error: {type(exc).__name__}: {exc}"])


def _check(ops: Sequence[Op], stall_s: float) -> HistoryVerdict:
    pairs = _pairs(ops)
    notes: list[str] = []
    counts = Counter(op.type.value for op in ops)
    writes = [(i, c) for i, c in pairs if i.f == "write"]
    reads = [(i, c) for i, c in pairs if i.f == "read"]
    invoked_values: dict[str, set[str]] = {}
    for inv, _ in writes:
        invoked_values.setdefault(inv.key, set()).add(inv.value or "")
    multi = sorted(k for k, v in invoked_values.items() if len(v) > 1)
    if multi:
        notes.append(f"keys written more than once ({len(multi)}, e.g. {multi[0]}): this checker assumes "
                     f"write-once keys, lost-write results for them are unknown")

    # Phantom reads: a value never offered by any write to that key.
    phantom = [
        {"process": inv.process, "key": inv.key, "value": c.value, "time": c.time}
        for inv, c in reads
        if c is not None and c.type is OpType.OK and c.value is not None
        and c.value not in invoked_values.get(inv.key, set())
    ]

    # Lost and unknown: acknowledged writes against the final read-back.
    final: dict[str, Op] = {}
    final_failed: dict[str, Op] = {}
    for inv, c in reads:
        if inv.process != FINAL_PROCESS:
            continue
        if c is not None and c.type is OpType.OK:
            final[inv.key] = c
        else:
            final_failed[inv.key] = c or inv
    lost, unknown = [], []
    for inv, c in writes:
        if c is None or c.type is not OpType.OK or inv.key in multi:
            continue
        entry = {"process": inv.process, "key": inv.key, "value": inv.value, "acked_at": c.time}
        if inv.key in final:
            if final[inv.key].value != inv.value:
                lost.append({**entry, "final_read": final[inv.key].value})
        else:
            why = final_failed[inv.key].error if inv.key in final_failed else "never read back"
            unknown.append({**entry, "reason": why})

    # Unavailability per process (the final pass is not a client of the workload).
    windows: list[Unavailability] = []
    for process in sorted({i.process for i, _ in pairs} - {FINAL_PROCESS}):
        current: dict | None = None
        for inv, c in (p for p in pairs if p[0].process == process):
            end = c.time if c else inv.time
            ok = c is not None and c.type is OpType.OK
            stalled = ok and end - inv.time > stall_s
            bad = not ok or stalled
            if bad:
                reason = (f"stalled >{stall_s:g}s" if stalled else
                          (c.error or c.type.value) if c else "no completion")
                if current is None:
                    current = {"start": inv.time, "end": end, "errors": Counter()}
                current["end"] = end
                current["errors"][reason] += 1
            if ok and current is not None:
                windows.append(Unavailability(process, current["start"], current["end"], True, dict(current["errors"])))
                current = None
        if current is not None:
            windows.append(Unavailability(process, current["start"], current["end"], False, dict(current["errors"])))

    # Visibility: first read by another client returning an acknowledged value.
    lags, stale, never_seen = [], 0, 0
    reads_by_key: dict[str, list[tuple[Op, Op]]] = {}
    for inv, c in reads:
        if c is not None and c.type is OpType.OK and inv.process != FINAL_PROCESS:
            reads_by_key.setdefault(inv.key, []).append((inv, c))
    for inv, c in writes:
        if c is None or c.type is not OpType.OK:
            continue
        others = [(ri, rc) for ri, rc in reads_by_key.get(inv.key, []) if ri.process != inv.process]
        seen = [rc.time for ri, rc in others if rc.value == inv.value]
        stale += sum(1 for ri, rc in others if ri.time > c.time and rc.value != inv.value)
        if seen:
            lags.append(max(0.0, min(seen) - c.time))
        elif others:
            never_seen += 1
    visibility = {"measured": len(lags), "stale_reads": stale, "never_seen_by_others": never_seen,
                  **_lag_stats(lags)}

    if lost or phantom:
        valid: bool | None = False
    elif not final and writes:
        valid = None
        notes.append("no final read-back in the history: lost writes cannot be judged")
    elif unknown or multi:
        valid = None
    else:
        valid = True
    return HistoryVerdict(valid, lost, phantom, unknown, windows, visibility, dict(counts), notes)
