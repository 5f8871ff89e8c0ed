"""The run's Timeline: what faults did when, so reports can shade fault windows on latency plots.

Each event carries both clocks: wall clock (to line up with other tools' logs) and monotonic (to
compute durations that a clock step cannot distort). A timeline serialises to JSON lines, one
event per line, and can be loaded back for offline reports. With a `path`, events are appended to
the file as they happen, so a crashed run still leaves its fault windows on disk.

Every event also names the test that was running when it was recorded (the plugin sets it around
each test) and the process that recorded it, so a report shades on a test's plot only the faults
of that test, not those of other tests or of other pytest-xdist workers running at the same time.
"""
from __future__ import annotations

import json
import os
import threading
import time
from dataclasses import asdict, dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any, Iterable


class Phase(str, Enum):
    """The four moments of a fault, plus free-form steps (a rolling restart's node done, ...)."""

    START = "start"
    EFFECT = "effect-confirmed"
    REVERT = "revert-started"
    REVERTED = "revert-confirmed"
    REVERTED_PARTLY = "revert-partial"  # the revert finished but left part of the change (details say which)
    STEP = "step"
    FAILED = "failed"


@dataclass(frozen=True)
class Event:
    fault_id: str
    kind: str
    phase: str
    targets: tuple[str, ...]
    wall: float  # time.time()
    mono: float  # time.monotonic()
    details: dict[str, Any] = field(default_factory=dict)
    test: str | None = None  # pytest node id of the test running when it was recorded (None: outside a test)
    pid: int | None = None  # the recording process: one per pytest-xdist worker

    def to_json(self) -> str:
        data = asdict(self)
        data["targets"] = list(self.targets)
        return json.dumps(data, sort_keys=True, default=str)

    @classmethod
    def from_json(cls, line: str) -> "Event":
        data = json.loads(line)
        data["targets"] = tuple(data["targets"])
        return cls(**data)


@dataclass(frozen=True)
class Window:
    """One fault's interval, for shading: from start to revert confirmed (or None while active)."""

    fault_id: str
    kind: str
    targets: tuple[str, ...]
    start_wall: float
    end_wall: float | None
    start_mono: float
    end_mono: float | None
    test: str | None = None  # the test that started the fault


_current_test: str | None = None


def set_current_test(nodeid: str | None) -> None:
    """Name the test now running in this process (the plugin calls this around each test; None after).

    A process-wide value, not one per Timeline: faults record on whichever Timeline they were
    given (the session's, a chaos experiment's), possibly from threads the test started; pytest
    runs one test at a time per process (xdist workers are processes)."""
    global _current_test
    _current_test = nodeid


def current_test() -> str | None:
    return _current_test


class Timeline:
    """Thread-safe list of events, optionally mirrored to a JSON-lines file.

    Also tracks which faults are active (injected, not yet reverted), so a session-level safety
    net can revert them whatever happened to the test that injected them.
    """

    def __init__(self, path: Path | None = None) -> None:
        self.path = Path(path) if path is not None else None
        self._events: list[Event] = []
        self._lock = threading.Lock()
        self._active: dict[str, Any] = {}  # fault_id -> fault object
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)

    def record(self, fault_id: str, kind: str, phase: Phase | str, targets: Iterable[str] = (),
               **details: Any) -> Event:
        event = Event(fault_id, kind, Phase(phase).value if isinstance(phase, Phase) else str(phase),
                      tuple(targets), time.time(), time.monotonic(), dict(details), current_test(), os.getpid())
        with self._lock:
            self._events.append(event)
            if self.path is not None:
                with open(self.path, "a") as fh:
                    fh.write(event.to_json() + "\n")
        return event

    @property
    def events(self) -> list[Event]:
        with self._lock:
            return list(self._events)

    def for_fault(self, fault_id: str) -> list[Event]:
        return [e for e in self.events if e.fault_id == fault_id]

    def windows(self) -> list[Window]:
        """One window per fault id, from its start to its revert-confirmed (or revert-partial) event."""
        starts: dict[str, Event] = {}
        ends: dict[str, Event] = {}
        for e in self.events:
            if e.phase == Phase.START.value and e.fault_id not in starts:
                starts[e.fault_id] = e
            elif e.phase in (Phase.REVERTED.value, Phase.REVERTED_PARTLY.value):
                ends[e.fault_id] = e
        return [
            Window(fid, s.kind, s.targets, s.wall, ends[fid].wall if fid in ends else None, s.mono,
                   ends[fid].mono if fid in ends else None, s.test)
            for fid, s in starts.items()
        ]

    def to_jsonl(self) -> str:
        return "".join(e.to_json() + "\n" for e in self.events)

    def write(self, path: Path) -> Path:
        path = Path(path)
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_text(self.to_jsonl())
        tmp.replace(path)
        return path

    @classmethod
    def load(cls, path: Path) -> "Timeline":
        """Read a JSON-lines file back (offline reports); the loaded timeline is not mirrored."""
        timeline = cls()
        for line in Path(path).read_text().splitlines():
            if line.strip():
                timeline._events.append(Event.from_json(line))
        return timeline

    # Active faults: maintained by harness.faults.base.Fault.
    def activate(self, fault_id: str, fault: Any) -> None:
        with self._lock:
            self._active[fault_id] = fault

    def deactivate(self, fault_id: str) -> None:
        with self._lock:
            self._active.pop(fault_id, None)

    def active_faults(self) -> list[Any]:
        """Faults injected and not yet reverted, newest first (the order to revert them in)."""
        with self._lock:
            return list(reversed(self._active.values()))
