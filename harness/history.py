"""Operation histories (Jepsen style) and the checker the suites use for "no acknowledged write lost".

Every operation a client performs is recorded twice: `invoke` when it starts, then `ok` (it
happened), `fail` (it certainly did not happen, with errno or S3 error code) or `info` (outcome
unknown: a timeout, a lost connection, a server error after the request was sent). Histories are
JSON lines on disk, so a verdict can be recomputed offline with `check_history(load_history(p))`.

The model is write-once keys: each write stores a unique value under a fresh key; readers poll
other clients' keys; a final pass (process "final") reads every key back after the workload.
"""
from __future__ import annotations

import errno as errno_mod
import itertools
import json
import math
import os
import secrets
import threading
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any, Callable, Protocol, Sequence

from .clientops import read_uncached
from .errors import ConfigError

FINAL_PROCESS = "final"
DEFAULT_STALL_S = 1.0


class OpType(str, Enum):
    INVOKE = "invoke"
    OK = "ok"
    FAIL = "fail"
    INFO = "info"


@dataclass(frozen=True)
class Op:
    index: int
    process: str
    type: OpType
    f: str  # "write" | "read"
    key: str
    value: str | None
    time: float  # Unix time, seconds
    error: str | None = None

    def to_json(self) -> str:
        data = asdict(self)
        data["type"] = self.type.value
        return json.dumps(data, sort_keys=True)

    @classmethod
    def from_json(cls, line: str) -> "Op":
        data = json.loads(line)
        data["type"] = OpType(data["type"])
        return cls(**data)


class History:
    """Thread-safe recorder; with `path`, each op is appended to that JSON-lines file at once."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._ops: list[Op] = []
        self._pending: dict[int, Op] = {}
        self._fh = open(path, "a") if path else None
        self._closed = False

    def _add(self, process: str, type_: OpType, f: str, key: str, value: str | None, error: str | None) -> Op:
        with self._lock:
            op = Op(len(self._ops), process, type_, f, key, value, time.time(), error)
            self._ops.append(op)
            if self._fh:
                self._fh.write(op.to_json() + "\n")
                self._fh.flush()
            return op

    def invoke(self, process: str, f: str, key: str, value: str | None = None) -> Op:
        op = self._add(process, OpType.INVOKE, f, key, value, None)
        with self._lock:
            self._pending[op.index] = op
        return op

    def complete(self, invoked: Op, type_: OpType, value: str | None = None, error: str | None = None) -> Op:
        """Record the outcome of `invoked`; a write's value is the invoked value whatever is passed."""
        with self._lock:
            if self._pending.pop(invoked.index, None) is None:
                if self._closed:  # a client that was stuck past close(): its op is already info
                    return invoked
                raise ConfigError(f"op {invoked.index} was already completed or never invoked")
        if invoked.f == "write":
            value = invoked.value
        return self._add(invoked.process, type_, invoked.f, invoked.key, value, error)

    @property
    def ops(self) -> list[Op]:
        with self._lock:
            return list(self._ops)

    def close(self) -> None:
        """Operations still pending (a client stuck in a hung mount) become info."""
        for op in list(self._pending.values()):
            self.complete(op, OpType.INFO, error="no completion before the history closed")
        with self._lock:
            self._closed = True
        if self._fh:
            self._fh.close()
            self._fh = None


def load_history(path: Path) -> list[Op]:
    with open(path) as fh:
        return [Op.from_json(line) for line in fh if line.strip()]


# ---------------------------------------------------------------------------------------------
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
        from .results import CheckResult

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


# ---------------------------------------------------------------------------------------------
# Clients: stores that can write and read a key, and threads that drive them.

class Outcome(Exception):
    """Raised by a store to report a failed (definite=True) or unknown-outcome operation."""

    def __init__(self, error: str, definite: bool) -> None:
        super().__init__(error)
        self.error, self.definite = error, definite


class Store(Protocol):
    name: str

    def write(self, key: str, value: str) -> None:
        """Store value under key; raise Outcome on failure."""

    def read(self, key: str) -> str | None:
        """The value under key, None if absent; raise Outcome on failure."""


def _errno_name(exc: OSError) -> str:
    return errno_mod.errorcode.get(exc.errno or 0, str(exc.errno))


@dataclass
class FileStore:
    """Keys are files in a directory of a mounted volume; the directory must exist."""

    directory: Path
    name: str = "file"

    def __post_init__(self) -> None:
        self.directory = Path(self.directory)

    def write(self, key: str, value: str) -> None:
        """Write a temporary file, fsync, rename onto the key: readers see the whole value or none
        (an in-place write would let them see an empty file between create and write)."""
        tmp = self.directory / f".{key}.{secrets.token_hex(4)}.tmp"
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except OSError as exc:
            raise Outcome(_errno_name(exc), definite=True) from None  # the key was not touched
        try:
            try:
                os.write(fd, value.encode())
                os.fsync(fd)
            finally:
                os.close(fd)
        except OSError as exc:
            raise Outcome(_errno_name(exc), definite=True) from None  # the key was still not touched
        try:
            os.rename(tmp, self.directory / key)
        except OSError as exc:
            raise Outcome(_errno_name(exc), definite=False) from None  # the rename may have happened

    def read(self, key: str) -> str | None:
        """Uncached: a writer's own page cache would answer its reads, and the final read-back, with
        a value the bricks may have lost."""
        try:
            return read_uncached(self.directory / key).decode(errors="replace")
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise Outcome(_errno_name(exc), definite=True) from None


@dataclass
class S3Store:
    """Keys are objects in a bucket; `client` from s3client.make_client (in its namespace)."""

    client: Any
    bucket: str
    name: str = "s3"

    def write(self, key: str, value: str) -> None:
        try:
            self.client.put_object(Bucket=self.bucket, Key=key, Body=value.encode())
        except Exception as exc:
            raise _s3_outcome(exc) from None

    def read(self, key: str) -> str | None:
        try:
            return self.client.get_object(Bucket=self.bucket, Key=key)["Body"].read().decode(errors="replace")
        except Exception as exc:
            code = _s3_code(exc)
            if code in ("NoSuchKey", "404"):
                return None
            raise Outcome(code or type(exc).__name__, definite=True) from None


def _s3_code(exc: Exception) -> str | None:
    response = getattr(exc, "response", None)
    return response.get("Error", {}).get("Code") if isinstance(response, dict) else None


def _s3_outcome(exc: Exception) -> Outcome:
    """4xx answers and refused connections: the write did not happen; anything later is unknown."""
    from botocore.exceptions import ConnectTimeoutError, EndpointConnectionError

    code = _s3_code(exc)
    if code is not None:
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)  # type: ignore[attr-defined]
        return Outcome(code, definite=400 <= status < 500 and status != 408)
    if isinstance(exc, (EndpointConnectionError, ConnectTimeoutError)):
        return Outcome(type(exc).__name__, definite=True)
    return Outcome(type(exc).__name__, definite=False)


def new_value(process: str, n: int) -> str:
    """Unique across runs too, so leftovers of an earlier run can never pass for this run's writes."""
    return f"{process}-{n}-{secrets.token_hex(6)}"


def perform(history: History, process: str, f: str, key: str, action: Callable[[], str | None],
            value: str | None = None) -> Op:
    """Record invoke, run action, record ok / fail / info; any other exception becomes info."""
    inv = history.invoke(process, f, key, value)
    try:
        result = action()
    except Outcome as out:
        return history.complete(inv, OpType.FAIL if out.definite else OpType.INFO, error=out.error)
    except Exception as exc:  # unknown outcome, never a definite failure
        return history.complete(inv, OpType.INFO, error=f"{type(exc).__name__}: {exc}")
    return history.complete(inv, OpType.OK, value=result)


class HistoryClient(threading.Thread):
    """Alternates writing a fresh key of its own and polling the next key of a peer."""

    def __init__(self, process: str, store: Store, history: History, peers: Sequence[str],
                 stop: threading.Event, think_s: float = 0.0) -> None:
        super().__init__(name=f"history-{process}", daemon=True)
        self.process, self.store, self.history = process, store, history
        self.peers, self.stop, self.think_s = list(peers), stop, think_s
        self.cursor = {p: 0 for p in self.peers}

    def run(self) -> None:
        peer_cycle = itertools.cycle(self.peers) if self.peers else None
        for n in itertools.count():
            if self.stop.is_set():
                return
            key = key_name(self.process, n)
            value = new_value(self.process, n)
            perform(self.history, self.process, "write", key, lambda: (self.store.write(key, value), value)[1], value)
            if peer_cycle is not None:
                peer = next(peer_cycle)
                peer_key = key_name(peer, self.cursor[peer])
                op = perform(self.history, self.process, "read", peer_key, lambda: self.store.read(peer_key))
                if op.type is OpType.OK and op.value is not None:
                    self.cursor[peer] += 1
            if self.think_s:
                self.stop.wait(self.think_s)


def key_name(process: str, n: int) -> str:
    return f"{process}-{n:07d}"


@dataclass(frozen=True)
class HistoryRun:
    path: Path | None
    ops: list[Op]
    duration_s: float
    stuck_clients: list[str]

    @property
    def ops_per_s(self) -> float:
        done = sum(1 for op in self.ops if op.type is not OpType.INVOKE and op.process != FINAL_PROCESS)
        return done / self.duration_s if self.duration_s > 0 else 0.0


def run_clients(stores: dict[str, Store], duration_s: float, path: Path | None = None,
                final_store: Store | None = None, think_s: float = 0.0, join_timeout_s: float = 60.0,
                during: Callable[[], None] | None = None) -> HistoryRun:
    """Run one client per store concurrently for duration_s (or while `during()` runs), then read
    every written key back as process "final" through `final_store` (default: the first store).

    Clients stuck in an operation past join_timeout_s are left (daemon threads) and listed; their
    pending operations are recorded as info.
    """
    if not stores:
        raise ConfigError("history clients need at least one store")
    if duration_s < 0:
        raise ConfigError(f"history duration must be >= 0 s, got {duration_s}")
    if FINAL_PROCESS in stores:
        raise ConfigError(f"{FINAL_PROCESS!r} is reserved for the read-back pass; rename that client")
    history = History(path)
    stop = threading.Event()
    names = list(stores)
    clients = [HistoryClient(n, s, history, [p for p in names if p != n], stop, think_s) for n, s in stores.items()]
    started = time.monotonic()
    for c in clients:
        c.start()
    try:
        if during is not None:
            during()
        else:
            stop.wait(duration_s)
    finally:
        stop.set()
        elapsed = time.monotonic() - started
        deadline = time.monotonic() + join_timeout_s
        for c in clients:
            c.join(max(0.0, deadline - time.monotonic()))
    stuck = [c.process for c in clients if c.is_alive()]
    read_back(history, final_store or next(iter(stores.values())))
    history.close()
    return HistoryRun(path, history.ops, elapsed, stuck)


def read_back(history: History, store: Store) -> None:
    """The final pass: read every key any client tried to write, as process "final"."""
    written = sorted({op.key for op in history.ops if op.f == "write" and op.type is OpType.INVOKE})
    for key in written:
        perform(history, FINAL_PROCESS, "read", key, lambda key=key: store.read(key))
