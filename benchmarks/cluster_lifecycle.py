"""Median over N runs of: cluster up (3 nodes peered), replica-3 create+start, mount ready, teardown.

Run: `make bench` or `.venv/bin/python benchmarks/cluster_lifecycle.py [--runs 5]`.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from harness.providers.local import LocalProvider  # noqa: E402
from harness.volume import VolumeSpec, VolumeType, create_volume  # noqa: E402


def one_run() -> dict[str, float]:
    t0 = time.monotonic()
    cluster = LocalProvider(nodes=3, zones=3, clients=1).up()
    t1 = time.monotonic()
    try:
        volume = create_volume(cluster, VolumeSpec(VolumeType.REPLICA3))
        t2 = time.monotonic()
        cluster.mount(volume)
        t3 = time.monotonic()
    finally:
        t4 = time.monotonic()
        cluster.down()
        t5 = time.monotonic()
    return {"cluster up": t1 - t0, "replica-3 create+start": t2 - t1, "mount ready": t3 - t2,
            "up + volume + mount": t3 - t0, "teardown": t5 - t4}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    runs = [one_run() for _ in range(args.runs)]
    print(f"local cluster lifecycle, median of {args.runs} runs (seconds)")
    for phase in runs[0]:
        values = [r[phase] for r in runs]
        print(f"  {phase:24} {statistics.median(values):6.2f}   (min {min(values):.2f}, max {max(values):.2f})")


if __name__ == "__main__":
    main()
