"""The storm's cost-against-N curve on disk: the JSON of a run and its plot."""
from __future__ import annotations

import json
import os
import threading
from dataclasses import asdict
from pathlib import Path
from typing import Any, Callable, Sequence

from .storm import StormResult


def write_result(result: StormResult, run_path: Path) -> Path:
    """storm-<label>.json in the run folder: the record plus every volume's timing."""
    data = {**result.to_record(), "volumes": [asdict(t) for t in result.timings]}
    target = run_path / f"storm-{result.plan.label}.json"
    _atomic_write(target, lambda tmp: tmp.write_text(_json(data)))
    return target


def plot_curves(records: Sequence[dict], target: Path) -> Path:
    """A PNG of cost against N for every storm record given (memory, processes, latency)."""
    from matplotlib.figure import Figure  # heavy import, only when plotting; no pyplot state

    fig = Figure(figsize=(12, 4), layout="constrained")
    mem, procs, lat = fig.subplots(1, 3)
    for rec in records:
        curve = rec["curve"]
        label = f"{rec['n_volumes']} vol, mux {'on' if rec['brick_multiplex'] else 'off'}"
        ns = [p["n"] for p in curve]
        if any(p["brick_rss_mb"] is not None for p in curve):
            mem.plot(ns, [p["brick_rss_mb"] for p in curve], marker="o", label=f"bricks, {label}")
            mem.plot(ns, [p["glusterd_rss_mb"] for p in curve], marker="x", linestyle="--", label=f"glusterd, {label}")
            procs.plot(ns, [p["processes"] for p in curve], marker="o", label=label)
        lat.bar(label, rec["p99_s"] or 0.0, alpha=0.6)
    mem.set(title="RSS (MiB) against volumes", xlabel="volumes started", ylabel="MiB")
    procs.set(title="gluster processes on the nodes", xlabel="volumes started", ylabel="processes")
    lat.set(title="provisioning p99 (s)", ylabel="seconds")
    mem.legend(fontsize="small")
    procs.legend(fontsize="small")
    _atomic_write(target, lambda tmp: fig.savefig(tmp, format="png", dpi=90))
    return target


def _atomic_write(target: Path, write: Callable[[Path], Any]) -> None:
    # Parallel workers may redraw the same file: readers never see half of it.
    tmp = target.with_name(f".{target.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    write(tmp)
    tmp.replace(target)


def _json(data: Any) -> str:
    return json.dumps(data, indent=2, sort_keys=True, default=str)
