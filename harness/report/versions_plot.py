"""The GlusterFS version of each node over a rolling upgrade (harness.upgrade.RollingUpgrade.points),
as lines for a conformance row and as a plot for the report."""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Sequence

from ..upgrade import STOPPED


def versions_lines(timeline: Sequence[dict]) -> list[str]:
    """One line per point of the upgrade: "HH:MM:SS phase: node1 11.1, node2 10.3, ..." (UTC)."""
    return [f"{time.strftime('%H:%M:%S', time.gmtime(p['t']))} {p['phase']}: "
            + ", ".join(f"{n} {v}" for n, v in sorted(p["versions"].items())) for p in timeline]


def plot_versions(timeline: Sequence[dict], ops: Sequence[Any], path: "Path", title: str) -> "Path":
    """PNG: each node's version over time (a step line per node), with the history clients'
    failed operations marked, so a reader sees which step cost availability."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    t0 = timeline[0]["t"]
    names = sorted(timeline[0]["versions"])
    known = sorted({v for p in timeline for v in p["versions"].values()})
    fig, ax = plt.subplots(figsize=(10, 1.2 + 0.6 * len(names)))
    end = max([p["t"] for p in timeline] + [op.time for op in ops]) - t0
    for row, name in enumerate(names):
        xs = [p["t"] - t0 for p in timeline] + [end]
        ys = [p["versions"][name] for p in timeline]
        for (x0, x1), v in zip(zip(xs, xs[1:]), ys):
            color = "#bbbbbb" if v == STOPPED else f"C{known.index(v)}"
            ax.broken_barh([(x0, max(x1 - x0, 0.01))], (row - 0.35, 0.7), color=color, label=v)
    fails = [op.time - t0 for op in ops if getattr(op.type, "value", op.type) in ("fail", "info")]
    if fails:
        ax.scatter(fails, [len(names) - 0.2] * len(fails), marker="|", color="#d62728", label="failed client op")
    ax.set_yticks(range(len(names)), names)
    ax.set_ylim(-0.6, len(names) + 0.2)
    ax.set_xlabel("seconds since the upgrade began")
    ax.set_title(title, fontsize=11)
    handles, labels = ax.get_legend_handles_labels()
    unique = dict(zip(labels, handles))
    ax.legend(unique.values(), unique.keys(), fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
