"""Wall time of the whole fast qualification run and of each suite.

Run: `.venv/bin/python benchmarks/qualify_time.py [--runs N] [--workers W] [pytest args...]`. Each
run is a real `pytest -n W suites` in a subprocess, as `make qualify` runs it (W 3 there and here;
0 runs serially). Per-suite times come from that run's junit.xml: setup + call + teardown of each
test, summed per module, so with workers in parallel they add up to more than the wall time. With
--runs N it also counts runs with any failure.
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
MAKE_QUALIFY_WORKERS = 3  # QUALIFY_WORKERS in the Makefile


def one_run(extra: list[str], junit: Path) -> tuple[float, int, dict[str, float], dict[str, int]]:
    start = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "pytest", "suites", "-q", "-p", "no:cacheprovider",
                           f"--junitxml={junit}", *extra], cwd=REPO, capture_output=True, text=True)
    wall = time.monotonic() - start
    per_suite: dict[str, float] = defaultdict(float)
    counts: dict[str, int] = defaultdict(int)
    for case in ET.parse(junit).getroot().iter("testcase"):
        module = case.get("classname", "").rsplit(".", 1)[-1]
        per_suite[module] += float(case.get("time", 0))
        for outcome in ("failure", "error", "skipped"):
            if case.find(outcome) is not None:
                counts[outcome] += 1
                break
        else:
            counts["passed"] += 1
    lines = proc.stdout.strip().splitlines()
    # a run whose tests all pass still fails on a violated gate or a regression: show those lines
    failed_gates = [line for line in lines if " VIOLATED: " in line or " REGRESSION: " in line]
    shown = lines[-1:] + (failed_gates if proc.returncode else [])
    print(f"  run: {wall:7.1f} s  exit {proc.returncode}  {'  '.join(shown)}", flush=True)
    return wall, proc.returncode, dict(per_suite), dict(counts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--workers", type=int, default=MAKE_QUALIFY_WORKERS,
                        help=f"pytest-xdist workers (default {MAKE_QUALIFY_WORKERS}, as make qualify; 0: serial)")
    args, extra = parser.parse_known_args()
    if args.workers:
        extra = ["-n", str(args.workers), *extra]
    results = []
    for i in range(args.runs):
        results.append(one_run(extra, Path(f"/tmp/qualify-junit-{i}.xml")))
    last_wall, _, per_suite, _ = results[-1]
    mode = f"{args.workers} workers" if args.workers else "serial"
    print(f"fast qualification (pytest suites, {mode}), {args.runs} run(s); summed test time per suite:")
    for module, seconds in sorted(per_suite.items(), key=lambda kv: -kv[1]):
        print(f"  {module:28} {seconds:7.1f} s")
    walls = sorted(r[0] for r in results)
    median = walls[len(walls) // 2]
    print(f"  {'whole run (median wall)':28} {median:7.1f} s  (min {walls[0]:.1f}, max {walls[-1]:.1f})")
    failed = sum(1 for r in results if r[1] != 0)
    print(f"  runs with a failure: {failed} of {len(results)}")


if __name__ == "__main__":
    main()
