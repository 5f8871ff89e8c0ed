"""Time to build a run's reports (summary.json, plots, report.html) as runs grow.

Writes a run folder of contract records (/work/notes/records.md) with S scenarios, each with one
workload of P latency points, a fault window and a heal curve, then times build_run_report.
Run: `.venv/bin/python benchmarks/report_build.py [--scenarios 10] [--points 20000]`.
"""
from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from harness.report.build import build_run_report  # noqa: E402
from harness.report.gates import load_thresholds  # noqa: E402
from harness.results import Recorder  # noqa: E402


def write(run: Path, scenarios: int, points: int) -> None:
    rec = Recorder(run, "main")
    rng = random.Random(1)
    (run / "series").mkdir(parents=True)
    t0 = time.time() - 3600
    for s in range(scenarios):
        sid, test = f"B{s}", f"bench::s{s}"
        start = t0 + s * 60
        lines = (json.dumps({"t": start + i * 30.0 / points, "latency_ms": rng.lognormvariate(0, 1), "op": "write",
                             "ok": True}) + "\n" for i in range(points))
        (run / "series" / f"{sid}.jsonl").write_text("".join(lines))
        for event, dt in (("start", 10), ("effect_confirmed", 10.5), ("revert_started", 20), ("revert_confirmed", 21)):
            rec.record("timeline", {"fault": "kill-brick", "targets": ["n2:/b"], "event": event, "wall": start + dt,
                                    "mono": dt, "details": {}}, test=test)
        phase = {"count": points // 4, "p50_ms": 1.0, "p95_ms": 4.0, "p99_ms": 9.0, "p999_ms": 20.0, "max_ms": 50.0,
                 "ops_per_s": 500.0}
        rec.record("workload", {"scenario": sid, "name": "fio", "access": "file", "unit": "ms",
                                "series_file": f"series/{sid}.jsonl", "phases": {"before": phase, "during_fault": phase},
                                "iops": 500.0, "unavailability": []}, test=test)
        rec.record("heal", {"scenario": sid, "volume": "v", "seconds": 8.0, "started": start + 21,
                            "samples": [[i * 0.5, max(0, 80 - i * 5)] for i in range(17)]}, test=test)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scenarios", type=int, default=10)
    parser.add_argument("--points", type=int, default=20000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        run = Path(tmp) / "bench"
        write(run, args.scenarios, args.points)
        t = time.monotonic()
        report = build_run_report(run, run_id="bench", provider="local", profile="fast", started=None, tests=[],
                                  thresholds=load_thresholds(None, "fast"))
        seconds = time.monotonic() - t
        size = report.html_path.stat().st_size
    print(f"{args.scenarios} scenarios x {args.points} points: reports built in {seconds:.1f} s "
          f"({seconds / args.scenarios:.2f} s per scenario), report.html {size / 1e6:.1f} MB, "
          f"{len(report.plots)} plots")


if __name__ == "__main__":
    main()
