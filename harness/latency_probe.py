"""A background writer that times small synchronous writes through a mount, with phase marks.

Used by scenarios that must show what a fault does to latency (zone outage, added delay, node
hang): the points become the run's "workload" record, percentiles per phase, for the report.
"""
from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

from .timeseries import Point, TimeSeries, phase_percentiles, phases_from_marks

if TYPE_CHECKING:
    from .mount import FuseMount
    from .results import Recorder
    from .rundir import RunDir

BLOCK = b"\0" * 4096
MARK_SETTLE_S = 10.0  # how long a mark waits for the write in flight; a healthy one takes milliseconds


class LatencyProbe:
    """`with LatencyProbe(mount) as probe:` writes 4 KiB + fsync every `interval_s` until exit.

    `probe.mark("during_fault")` starts a new phase; the first phase is "before". A write that
    blocks (a hung node) is one long point: the stall is measured, not hidden. A mark waits for the
    write in flight to finish, so a fault injected right after it catches only writes of the new phase.
    """

    def __init__(self, mount: "FuseMount", name: str = "write-4k-fsync", interval_s: float = 0.02) -> None:
        self.mount, self.name, self.interval_s = mount, name, interval_s
        self.points: list[Point] = []
        self.marks: list[tuple[str, float]] = []
        self.errors: list[str] = []
        self._stop = threading.Event()
        self._writing = threading.Lock()  # held for each write: marks fall between writes
        self._thread = threading.Thread(target=self._loop, name=f"latency-probe-{name}", daemon=True)
        self.directory = mount.path / ".harness-latency"

    def __enter__(self) -> "LatencyProbe":
        self.directory.mkdir(exist_ok=True)
        self.mark("before")
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def mark(self, phase: str, settle_s: float = MARK_SETTLE_S) -> None:
        """Start `phase` once the write in flight has finished. Without the wait, a write begun just
        before a fault's mark and stalled by the fault counted in the phase before it (the stall went
        unseen). A write still blocked after `settle_s` straddles the mark and counts where it began."""
        settled = self._writing.acquire(timeout=settle_s)
        try:
            self.marks.append((phase, time.time()))
        finally:
            if settled:
                self._writing.release()

    def stop(self, timeout: float = 120.0) -> TimeSeries:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)
        self.end = time.time()
        return self.series()

    def series(self) -> TimeSeries:
        return TimeSeries(self.name, tuple(self.points), source="harness latency probe (per write)")

    def _loop(self) -> None:
        n = 0
        while not self._stop.is_set():
            with self._writing:
                self.points.append(self._write(self.directory / f"p{n % 16}"))
            n += 1
            self._stop.wait(self.interval_s)

    def _write(self, path: Path) -> Point:
        start_wall, start = time.time(), time.monotonic()
        ok = True
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o644)
            try:
                os.write(fd, BLOCK)
                os.fsync(fd)  # write-behind may ack the write; fsync waits for the bricks: no cache answers it
            finally:
                os.close(fd)
        except OSError as exc:
            ok = False
            self.errors.append(f"{time.time():.3f} {exc.strerror}")
        return Point(start_wall, (time.monotonic() - start) * 1000.0, ok)

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
