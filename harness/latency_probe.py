"""A background writer that times small synchronous writes through a mount, with phase marks.

Used by scenarios that must show what a fault does to latency (zone outage, added delay, node
hang): the points become the run's "workload" record, percentiles per phase, for the report.

The writes run inside the mount's client host, as one long-lived `python3 -c clientops` process
(clientops.latency_loop) that logs a JSON line per write to a file outside the mount; the harness
reads the new lines (by byte offset) whenever it is asked for points. The client shares this
machine's clock, so its timestamps and the marks taken here are on one time line.
"""
from __future__ import annotations

import json
import os
import shlex
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Callable

from .errors import HarnessError
from .mountfiles import SCRIPT
from .timeseries import Point, TimeSeries, phase_percentiles, phases_from_marks

if TYPE_CHECKING:
    from .mount import FuseMount
    from .results import Recorder
    from .rundir import RunDir

MARK_SETTLE_S = 10.0  # how long a mark waits for the write in flight; a healthy one takes milliseconds
POLL_S = 0.05
START_TIMEOUT_S = 30.0
_seq = iter(range(1, 1 << 30))


@dataclass
class ProbeLog:
    """The loop's JSON lines, fed as they arrive (possibly cut mid-line): points of finished writes,
    the write in flight (its start time), and the byte offset to read from next."""

    offset: int = 0
    pid: int | None = None
    points: list[Point] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    in_flight: float | None = None  # start time of a write begun and not yet finished
    last_end: float | None = None  # end time of the latest finished write
    _partial: str = ""

    def feed(self, text: str) -> None:
        """Take the bytes read at `offset` (JSON lines are ASCII, so characters are bytes)."""
        self.offset += len(text.encode())
        lines = (self._partial + text).split("\n")
        self._partial = lines.pop()  # "" after a whole line; else a line still being written
        for line in lines:
            if line.strip():
                self._record(json.loads(line))

    def close(self, end: float) -> None:
        """The loop is gone: a write still in flight (killed while hung) is a failed point lasting
        until `end`, so a hang shows as a failure and a stall, never as silence."""
        if self.in_flight is not None:
            self._record({"t": self.in_flight, "ms": (end - self.in_flight) * 1000.0, "ok": False,
                          "error": "no answer before the probe was stopped"})

    def _record(self, rec: dict) -> None:
        if "pid" in rec:
            self.pid = rec["pid"]
        elif "ms" not in rec:
            self.in_flight = rec["t"]
        else:
            self.in_flight = None
            self.points.append(Point(rec["t"], rec["ms"], rec["ok"]))
            self.last_end = rec["t"] + rec["ms"] / 1000.0
            if not rec["ok"]:
                self.errors.append(f"{rec['t']:.3f} {rec['error']}")


class LatencyProbe:
    """`with LatencyProbe(mount) as probe:` writes 4 KiB + fsync every `interval_s` until exit.

    `probe.mark("during_fault")` starts a new phase; the first phase is "before". A write that
    blocks (a hung node) is one long point: the stall is measured, not hidden. A mark waits for the
    write in flight to finish, so a fault injected right after it catches only writes of the new phase.
    """

    def __init__(self, mount: "FuseMount", name: str = "write-4k-fsync", interval_s: float = 0.02) -> None:
        self.mount, self.name, self.interval_s = mount, name, interval_s
        self.marks: list[tuple[str, float]] = []
        self.client = mount.client
        self.directory = PurePosixPath(mount.path) / ".harness-latency"
        self.log_path = PurePosixPath(mount.state_dir) / f"latency-{name}-{os.getpid()}-{next(_seq)}.jsonl"
        self._log = ProbeLog()
        self._reading = threading.Lock()  # the suite's threads may ask for points at once
        self._stopped = False
        self.stopped_by: str | None = None  # after stop: "term", "kill", "gone" (ended before), "still running"

    def __enter__(self) -> "LatencyProbe":
        request = json.dumps({"op": "latency", "root": str(self.mount.path), "dir": str(self.directory),
                              "interval": self.interval_s, "block": 4096})
        # Detached, every stream redirected: a pod exec (and a pipe here) stays open while a child holds it.
        command = (f"setsid python3 -c \"$0\" \"$1\" </dev/null >{shlex.quote(str(self.log_path))} 2>&1 &")
        self.marks.append(("before", time.time()))
        self.client.run(["sh", "-c", command, SCRIPT, request], timeout=START_TIMEOUT_S)
        if not self._read_until(lambda log: log.pid is not None, START_TIMEOUT_S):
            self._stopped = True
            raise HarnessError(f"the latency probe did not start in client {self.client.name} within "
                               f"{START_TIMEOUT_S:.0f} s (its log {self.log_path} is empty)")
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _read(self) -> ProbeLog:
        with self._reading:
            if not self._stopped or self._log.offset == 0:
                result = self.client.run(["tail", "-c", f"+{self._log.offset + 1}", str(self.log_path)],
                                         timeout=30, check=False)
                if result.ok:
                    self._log.feed(result.stdout)
            return self._log

    def _read_until(self, done: Callable[[ProbeLog], bool], timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while not done(self._read()):
            if time.monotonic() >= deadline:
                return False
            time.sleep(POLL_S)
        return True

    def mark(self, phase: str, settle_s: float = MARK_SETTLE_S) -> None:
        """Start `phase` once the write in flight has finished. Without the wait, a write begun just
        before a fault's mark and stalled by the fault counted in the phase before it (the stall went
        unseen). The mark is the end of the latest finished write, so no write straddles it (the next
        began after it). A write still blocked after `settle_s` straddles the mark and counts where it began."""
        settled = self._read_until(lambda log: log.in_flight is None, settle_s)
        log = self._log
        at = log.last_end + 1e-6 if settled and log.last_end is not None else time.time()
        self.marks.append((phase, max(at, self.marks[-1][1] if self.marks else at)))

    def stop(self, timeout: float = 120.0) -> TimeSeries:
        """End the loop after its write in flight (killed if that is not done in `timeout` s: a hung mount)
        and read its last lines. Idempotent."""
        if not self._stopped:
            request = json.dumps({"op": "stop", "pid": self._log.pid or self._read().pid or 0, "grace": timeout})
            result = self.client.run(["python3", "-c", SCRIPT, request], timeout=timeout + 60, check=False)
            self.end = time.time()
            try:
                self.stopped_by = json.loads(result.stdout)["stopped"]
            except (ValueError, KeyError, TypeError):
                pass  # the stop program gave no answer (the client host unreachable?): stays None
            self._read().close(self.end)
            self._stopped = True
        return self.series()

    @property
    def points(self) -> list[Point]:
        return list(self._read().points)

    @property
    def errors(self) -> list[str]:
        return list(self._read().errors)

    def series(self) -> TimeSeries:
        return TimeSeries(self.name, tuple(self.points), source="harness latency probe (per write)")

    def max_stall_s(self) -> float:
        return max((p.latency_ms for p in self.points), default=0.0) / 1000.0

    def failures(self) -> int:
        return sum(1 for p in self.points if not p.ok)

    def phase_stats(self) -> dict[str, dict]:
        stats = phase_percentiles(self.series(), phases_from_marks(self.marks, getattr(self, "end", time.time())))
        return {s.name: {"count": s.count, "failures": s.failures, "ops_per_s": round(s.rate_per_s, 2),
                         **{f"{k}_ms": v for k, v in s.percentiles_ms.items()}} for s in stats}

    def write_series(self, path: Path) -> Path:
        """The points as JSON lines in the run records' series form ({"t", "latency_ms", "op", "ok"})."""
        with open(path, "w") as fh:
            for p in self.points:
                fh.write(json.dumps({"t": p.t, "latency_ms": round(p.latency_ms, 3), "op": "write", "ok": p.ok}) + "\n")
        return path

    def record(self, recorder: "Recorder", run_dir: "RunDir", test: str | None, scenario: str,
               access: str = "file") -> dict:
        """Write the points beside the report and a "workload" record with per-phase percentiles."""
        series_dir = run_dir.path / "series"
        series_dir.mkdir(exist_ok=True)
        name = f"{scenario}-{self.name}-{os.getpid()}-{int(self.marks[0][1] * 1000)}.jsonl"
        path = self.write_series(series_dir / name)
        return recorder.record("workload", {
            "scenario": scenario, "name": self.name, "access": access, "unit": "ms",
            "series_file": str(path.relative_to(run_dir.path)), "phases": self.phase_stats(),
            "max_stall_s": round(self.max_stall_s(), 3), "failures": self.failures(),
        }, test)
