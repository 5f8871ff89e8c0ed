"""PNG plots of a run: Jepsen-style latency timelines and heal backlog curves, one set per scenario.

Latency timeline (after jepsen.checker.perf): every operation as a point at (time, latency),
failed operations as red crosses, quantile lines (p50, p95, p99, max) over fixed time buckets, and
the fault windows of the panel's own test shaded from the timeline records; client unavailability
windows are drawn as a red band along the bottom. Time is seconds since the test's first event.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # no display: files only (must precede pyplot)
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402

PLOTS_DIR = "plots"
QUANTILES = ((0.5, "p50", "#1f77b4"), (0.95, "p95", "#2ca02c"), (0.99, "p99", "#ff7f0e"), (1.0, "max", "#7f7f7f"))
OP_COLOURS = ("#4c72b0", "#55a868", "#8172b2", "#64b5cd", "#ccb974", "#c44e52")


@dataclass(frozen=True)
class Plot:
    scenario: str
    kind: str  # "latency" | "heal"
    path: Path
    title: str


def load_series(run_path: Path, series_file: str | None) -> list[dict]:
    """The operations of a workload's series file, or [] when it is absent (the plot says so)."""
    if not series_file:
        return []
    path = run_path / series_file
    if not path.is_file():
        return []
    points = []
    for line in path.read_text().splitlines():
        if line.strip():
            p = json.loads(line)
            if p.get("latency_ms") is not None and p.get("t") is not None:
                points.append(p)
    return points


def bucket_quantiles(points: list[tuple[float, float]], width: float) -> dict[str, tuple[list[float], list[float]]]:
    """Quantile lines: for each time bucket of `width` seconds, the nearest-rank quantiles of its latencies.

    Lines break (NaN) over empty buckets: a stall must show as a gap, not as a ramp between points.
    """
    buckets: dict[int, list[float]] = {}
    for t, lat in points:
        buckets.setdefault(int(t // width), []).append(lat)
    lines: dict[str, tuple[list[float], list[float]]] = {name: ([], []) for _, name, _ in QUANTILES}
    previous = None
    for b in sorted(buckets):
        values = sorted(buckets[b])
        if previous is not None and b > previous + 1:
            for _, name, _ in QUANTILES:
                lines[name][0].append((previous + 1) * width)
                lines[name][1].append(math.nan)
        previous = b
        for q, name, _ in QUANTILES:
            idx = min(len(values) - 1, max(0, math.ceil(q * len(values)) - 1))
            lines[name][0].append((b + 0.5) * width)
            lines[name][1].append(values[idx])
    return lines


def panel_faults(summary: dict, workload: dict, span: tuple[float, float] | None) -> list[dict]:
    """Fault windows to shade on one workload's panel: the faults its own test injected, never
    another test's. A window without a test id (a timeline written before events named their test,
    or a fault injected outside any test) is shaded when it overlaps `span`, the panel's measured
    time range, and was not recorded by another process (another xdist worker's fault)."""
    found = []
    for f in summary["faults"]:
        if f["test"] is not None and workload["test"] is not None:
            if f["test"] == workload["test"]:
                found.append(f)
            continue
        other_process = None not in (f.get("pid"), workload.get("pid")) and f["pid"] != workload["pid"]
        if span is None or other_process:
            continue
        end = f["end"] if f["end"] is not None else span[1]
        if f["start"] <= span[1] and end >= span[0]:
            found.append(f)
    return found


def panel_heals(summary: dict, workload: dict) -> list[dict]:
    """Heal waits to shade on one workload's panel: those of its own test (or without a test id)."""
    return [h for h in summary["heal"] if h["scenario"] == workload["scenario"]
            and (workload["test"] is None or h["test"] in (None, workload["test"]))]


def latency_timeline(summary: dict, run_path: Path, scenario: str, out: Path) -> Plot | None:
    """One figure, one panel per workload of the scenario; None if the scenario has no workload.
    Each panel shades only its own test's faults and heals; time 0 is its test's first operation or
    fault (panels of one test share it)."""
    workloads = [w for w in summary["workloads"] if w["scenario"] == scenario]
    if not workloads:
        return None
    panels = []
    for w in workloads:
        points, heals = load_series(run_path, w["series_file"]), panel_heals(summary, w)
        times = [p["t"] for p in points] + [h["started"] for h in heals]
        panels.append((w, points, panel_faults(summary, w, (min(times), max(times)) if times else None), heals))
    t0: dict[str | None, float] = {}
    for w, points, faults, _ in panels:
        first = min([p["t"] for p in points] + [f["start"] for f in faults], default=None)
        if first is not None:
            t0[w["test"]] = min(t0.get(w["test"], first), first)
    fig, axes = plt.subplots(len(workloads), 1, figsize=(11, 3.6 * len(workloads)), squeeze=False, sharex=True)
    for ax, (w, points, faults, heals) in zip(axes[:, 0], panels):
        _draw_latency(ax, w, points, faults, heals, t0.get(w["test"], 0.0))
    axes[-1, 0].set_xlabel("time since the test's first operation or fault (s)")
    shading = "red: fault active" + (", blue: self-heal running" if any(p[3] for p in panels) else "")
    fig.suptitle(f"{scenario}: latency over time ({shading})", fontsize=12)
    fig.tight_layout()
    return _save(fig, out, scenario, "latency", f"{scenario} latency timeline")


def _draw_latency(ax: plt.Axes, w: dict, points: list[dict], faults: list[dict], heals: list[dict], t0: float) -> None:
    ax.set_title(f"{w['name']} ({w['access'] or '?'})", fontsize=10, loc="left")
    ax.set_ylabel(f"latency ({w['unit']})")
    ok = [(p["t"] - t0, float(p["latency_ms"])) for p in points if p.get("ok", True)]
    bad = [(p["t"] - t0, float(p["latency_ms"])) for p in points if not p.get("ok", True)]
    ops = sorted({str(p.get("op", "op")) for p in points if p.get("ok", True)})
    for i, op in enumerate(ops):
        xs = [(p["t"] - t0, float(p["latency_ms"])) for p in points if p.get("ok", True) and str(p.get("op", "op")) == op]
        ax.scatter([x for x, _ in xs], [y for _, y in xs], s=7, alpha=0.55, color=OP_COLOURS[i % len(OP_COLOURS)],
                   label=f"{op} ok", linewidths=0, rasterized=True)
    if bad:
        ax.scatter([x for x, _ in bad], [max(y, 1e-3) for _, y in bad], s=16, marker="x", color="#d62728",
                   label="failed op", linewidths=1.2, zorder=5)
    everything = ok + bad
    if everything:
        span = max(t for t, _ in everything) - min(t for t, _ in everything)
        for name, (xs, ys) in bucket_quantiles(ok, max(span / 40.0, 0.25)).items():
            colour = next(c for _, n, c in QUANTILES if n == name)
            ax.plot(xs, ys, color=colour, linewidth=1.6, label=name)
        positive = [y for _, y in everything if y > 0]
        if positive and max(positive) / min(positive) > 50:
            ax.set_yscale("log")
    else:
        ax.text(0.5, 0.5, "no latency series recorded", transform=ax.transAxes, ha="center", va="center")
    handles, labels = ax.get_legend_handles_labels()
    for f in faults:
        end = f["end"] if f["end"] is not None else max([t + t0 for t, _ in everything] + [f["start"]])
        ax.axvspan(f["start"] - t0, end - t0, color="#ffb3b3", alpha=0.35, linewidth=0, zorder=0)
        if f.get("effect") is not None:
            ax.axvline(f["effect"] - t0, color="#b22222", linestyle=":", linewidth=1)
        label = f"{f['fault']} {_short(','.join(f['targets']), 45)}".strip()
        ax.text(f["start"] - t0, 1.0, " " + label, transform=ax.get_xaxis_transform(), fontsize=8, va="top",
                color="#8b0000")
    if faults:
        handles.append(Patch(color="#ffb3b3", alpha=0.6, label="fault active"))
        labels.append("fault active")
    healing = False
    for h in heals:
        last = h["samples"][-1][0] if h["samples"] else 0.0
        length = h["seconds"] if h["seconds"] is not None else last
        if length:
            ax.axvspan(h["started"] - t0, h["started"] + length - t0, color="#b3d1ff", alpha=0.35, linewidth=0, zorder=0)
            healing = True
    if healing:
        handles.append(Patch(color="#b3d1ff", alpha=0.6, label="healing"))
        labels.append("healing")
    for window in w["unavailability"]:
        ax.axvspan(window["start"] - t0, window["end"] - t0, ymin=0, ymax=0.04, color="#d62728", alpha=0.9)
    if w["unavailability"]:
        handles.append(Patch(color="#d62728", label="client unavailable"))
        labels.append("client unavailable")
    ax.legend(handles, labels, fontsize=7, loc="upper right", ncol=4, framealpha=0.8)
    ax.grid(True, alpha=0.3)


def heal_curve(summary: dict, scenario: str, out: Path) -> Plot | None:
    """Pending heal entries over time, one line per heal wait of the scenario."""
    heals = [h for h in summary["heal"] if h["scenario"] == scenario and h["samples"]]
    if not heals:
        return None
    fig, ax = plt.subplots(figsize=(11, 3.4))
    for h in heals:
        xs = [s[0] for s in h["samples"] if s[1] is not None]
        ys = [s[1] for s in h["samples"] if s[1] is not None]
        done = "timed out" if h["seconds"] is None else f"{h['seconds']:.1f} s to 0"
        ax.plot(xs, ys, marker="o", markersize=3, linewidth=1.5, label=f"{h['volume']} ({done})")
        unknown = [s[0] for s in h["samples"] if s[1] is None]
        if unknown:
            ax.scatter(unknown, [0] * len(unknown), marker="|", color="#d62728", s=80, label="brick unreachable")
    ax.set_xlabel("seconds since heal wait began")
    ax.set_ylabel("pending heal entries")
    ax.set_title(f"{scenario}: self-heal backlog", fontsize=12)
    ax.set_ylim(bottom=0)
    ax.set_xlim(left=0)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return _save(fig, out, scenario, "heal", f"{scenario} heal backlog")


def render_all(summary: dict, run_path: Path) -> list[Plot]:
    """Every plot of the run into run_path/plots/, in scenario order."""
    out = run_path / PLOTS_DIR
    out.mkdir(parents=True, exist_ok=True)
    scenarios = sorted({w["scenario"] for w in summary["workloads"]} | {h["scenario"] for h in summary["heal"]})
    plots = []
    for scenario in scenarios:
        for make in (lambda s: latency_timeline(summary, run_path, s, out), lambda s: heal_curve(summary, s, out)):
            plot = make(scenario)
            if plot is not None:
                plots.append(plot)
    return plots + drawn_by_tests(out, {p.path for p in plots})


def drawn_by_tests(out: Path, made: set[Path]) -> list[Plot]:
    """Plots a test drew itself into plots/ as <scenario>-<kind>.png (the upgrade suite's versions per
    node over time): the report embeds them in their scenario's section."""
    found = []
    for path in sorted(out.glob("*-*.png")):
        if path not in made:
            scenario, kind = path.stem.rsplit("-", 1)
            found.append(Plot(scenario, kind, path, f"{scenario} {kind}"))
    return found


def _save(fig: plt.Figure, out: Path, scenario: str, kind: str, title: str) -> Plot:
    safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in scenario)
    path = out / f"{safe}-{kind}.png"
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return Plot(scenario, kind, path, title)


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else "..." + text[-(limit - 3):]
