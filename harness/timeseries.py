"""One latency time-series form for every workload (fio latency logs, locust samples and history).

A TimeSeries holds points (t, latency_ms): `t` is Unix time in seconds so series from different
tools line up with each other and with a fault timeline. Tools that only report windows (locust's
stats history) fill `intervals` instead. Per-phase percentiles take phase boundaries (before,
during fault, during heal, after) and summarise the points falling in each.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Iterable, Sequence

from .errors import ConfigError

DEFAULT_QUANTILES = (50.0, 95.0, 99.0, 99.9)
UNIT = "ms"


@dataclass(frozen=True)
class Point:
    t: float  # Unix time, seconds
    latency_ms: float
    ok: bool = True


@dataclass(frozen=True)
class Interval:
    """A window summarised by the tool itself (no raw points), e.g. one locust history row."""

    start: float
    end: float
    count: int
    rate_per_s: float
    percentiles_ms: dict[str, float] = field(default_factory=dict)
    failures: int = 0


@dataclass(frozen=True)
class Phase:
    name: str
    start: float
    end: float

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ConfigError(f"phase {self.name!r} ends ({self.end}) before it starts ({self.start})")

    def contains(self, t: float) -> bool:
        return self.start <= t < self.end


@dataclass(frozen=True)
class PhaseStats:
    name: str
    start: float
    end: float
    count: int
    failures: int
    rate_per_s: float
    percentiles_ms: dict[str, float | None]
    exact: bool  # False when computed from tool-made windows instead of points

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class TimeSeries:
    name: str
    points: tuple[Point, ...] = ()
    intervals: tuple[Interval, ...] = ()
    source: str = ""  # "fio clat log (per I/O)", "locust", ...
    unit: str = UNIT

    @property
    def start(self) -> float | None:
        times = [p.t for p in self.points] + [i.start for i in self.intervals]
        return min(times) if times else None

    @property
    def end(self) -> float | None:
        times = [p.t for p in self.points] + [i.end for i in self.intervals]
        return max(times) if times else None

    def summary(self, quantiles: Sequence[float] = DEFAULT_QUANTILES) -> dict:
        lat = [p.latency_ms for p in self.points if p.ok]
        return {"name": self.name, "source": self.source, "unit": self.unit, "points": len(self.points),
                "intervals": len(self.intervals), "percentiles_ms": percentiles(lat, quantiles)}


def quantile_key(q: float) -> str:
    return f"p{q:g}"


def percentiles(values: Iterable[float], quantiles: Sequence[float] = DEFAULT_QUANTILES) -> dict[str, float | None]:
    """Nearest-rank percentiles (what fio and locust report); None for every quantile of no data."""
    ordered = sorted(values)
    result: dict[str, float | None] = {}
    for q in quantiles:
        if not 0 < q <= 100:
            raise ConfigError(f"quantile {q} must be in (0, 100]")
        if not ordered:
            result[quantile_key(q)] = None
            continue
        rank = max(1, math.ceil(q / 100.0 * len(ordered)))
        result[quantile_key(q)] = ordered[rank - 1]
    return result


def bucket(series: TimeSeries, width_s: float = 1.0, quantiles: Sequence[float] = DEFAULT_QUANTILES) -> list[Interval]:
    """Per-interval percentiles of the points, in windows of width_s from the first point."""
    if width_s <= 0:
        raise ConfigError(f"interval width must be > 0 s, got {width_s}")
    if not series.points:
        return list(series.intervals)
    origin = series.start or 0.0
    windows: dict[int, list[Point]] = {}
    for p in series.points:
        windows.setdefault(int((p.t - origin) // width_s), []).append(p)
    out = []
    for index in sorted(windows):
        pts = windows[index]
        ok = [p.latency_ms for p in pts if p.ok]
        start = origin + index * width_s
        out.append(Interval(start, start + width_s, len(pts), len(pts) / width_s, percentiles(ok, quantiles),
                            sum(1 for p in pts if not p.ok)))
    return out


def phase_percentiles(series: TimeSeries, phases: Sequence[Phase],
                      quantiles: Sequence[float] = DEFAULT_QUANTILES) -> list[PhaseStats]:
    """Percentiles of the latencies of successful operations in each phase.

    From points when the series has them (exact). Otherwise from the tool's windows that lie
    inside the phase: counts add up and each percentile is the count-weighted mean of the windows'
    (an approximation, marked exact=False).
    """
    out = []
    for phase in phases:
        duration = max(phase.end - phase.start, 1e-9)
        if series.points:
            pts = [p for p in series.points if phase.contains(p.t)]
            ok = [p.latency_ms for p in pts if p.ok]
            out.append(PhaseStats(phase.name, phase.start, phase.end, len(pts), len(pts) - len(ok),
                                  len(pts) / duration, percentiles(ok, quantiles), True))
            continue
        windows = [i for i in series.intervals if phase.start <= i.end and i.end <= phase.end]
        count = sum(i.count for i in windows)
        merged: dict[str, float | None] = {}
        for q in quantiles:
            key = quantile_key(q)
            weighted = [(i.percentiles_ms.get(key), i.count) for i in windows if i.percentiles_ms.get(key) is not None]
            weight = sum(c for _, c in weighted)
            merged[key] = sum(v * c for v, c in weighted) / weight if weight else None
        out.append(PhaseStats(phase.name, phase.start, phase.end, count, sum(i.failures for i in windows),
                              count / duration, merged, False))
    return out


def phases_from_marks(marks: Sequence[tuple[str, float]], end: float) -> list[Phase]:
    """Consecutive phases from (name, start time) marks in order; the last runs until `end`."""
    phases = []
    for k, (name, start) in enumerate(marks):
        stop = marks[k + 1][1] if k + 1 < len(marks) else end
        phases.append(Phase(name, start, stop))
    return phases


def percentile(values: Iterable[float], q: float) -> float | None:
    """One nearest-rank percentile (see percentiles); None of no data."""
    return percentiles(values, (q,))[quantile_key(q)]
