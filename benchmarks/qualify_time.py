"""Wall time of the whole fast qualification run and of each suite.

Run: `.venv/bin/python benchmarks/qualify_time.py [--runs N] [pytest args...]`. Each run is a real
`pytest suites` in a subprocess; per-suite times come from that run's junit.xml (setup + call +
teardown of each test, summed per module). With --runs N it also counts runs with any failure.
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


def one_run(extra: list[str], junit: Path) -> tuple[float, int, dict[str, float], dict[str, int]]:
    start = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "pytest", "suites", "-q", "-p", "no:cacheprovider",
                           f"--junitxml={junit}", *extra], cwd=REPO, capture_output=True, text=True)
    wall = time.monotonic() - start
    per_suite: dict[str, float] = defaultdict(float)
    counts: dict[str, int] = defaultdict(int)
    for case in ET.parse(junit).getroot().iter("testcase"):
        module = case.get("classname", "").rsplit(".", 1)[-1] if "." in case.get("classname", "") else case.get("classname", "")
        per_suite[module] += float(case.get("time", 0))
        for outcome in ("failure", "error", "skipped"):
            if case.find(outcome) is not None:
                counts[outcome] += 1
                break
        else:
            counts["passed"] += 1
    tail = proc.stdout.strip().splitlines()[-1:] if proc.stdout else []
    print(f"  run: {wall:7.1f} s  exit {proc.returncode}  {' '.join(tail)}", flush=True)
    return wall, proc.returncode, dict(per_suite), dict(counts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=1)
    args, extra = parser.parse_known_args()
    results = []
    for i in range(args.runs):
        results.append(one_run(extra, Path(f"/tmp/qualify-junit-{i}.xml")))
    last_wall, _, per_suite, _ = results[-1]
    print(f"fast qualification (pytest suites), {args.runs} run(s)")
    for module, seconds in sorted(per_suite.items(), key=lambda kv: -kv[1]):
        print(f"  {module:28} {seconds:7.1f} s")
    walls = sorted(r[0] for r in results)
    print(f"  {'whole run (median wall)':28} {walls[len(walls) // 2]:7.1f} s")
    failed = sum(1 for r in results if r[1] != 0)
    print(f"  runs with a failure: {failed} of {len(results)}")


if __name__ == "__main__":
    main()
