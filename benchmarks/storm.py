"""Provisioning storm at scale: 1000 replica-3 volumes with brick multiplexing on this machine.

Starts its own local cluster (3 nodes in 3 zones, 1 client), provisions the volumes with the given
concurrency the way a dynamic provisioner does (create, options, start, bricks online; every k-th
volume FUSE-mounted), deletes them (or, with --delete-sample K, the last K made, timed, leaving
the rest to the cluster's teardown: at 1000 volumes one delete takes ~5 s, all of them ~40 min), and prints
total time, provisioning latency percentiles, volumes per minute, delete latency and peak memory.
The curve (JSON + PNG) lands in reports/<run-id>/.

Run: `.venv/bin/python benchmarks/storm.py [--volumes 1000] [--concurrency 4] [--no-multiplex]
[--delete-sample 20]`.
"""
from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from harness.errors import HarnessError  # noqa: E402
from harness.providers.local import LocalProvider  # noqa: E402
from harness.results import Recorder  # noqa: E402
from harness.rundir import RunDir  # noqa: E402
from harness.storm import DEFAULT_CONCURRENCY, StormPlan, run_storm  # noqa: E402
from harness.storm_curve import plot_curves, write_result  # noqa: E402
from harness.timeseries import percentile  # noqa: E402
from harness.volume import VolumeSpec, VolumeType  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--volumes", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=DEFAULT_CONCURRENCY)
    parser.add_argument("--no-multiplex", action="store_true", help="one glusterfsd per brick (capacity-checked)")
    parser.add_argument("--mount-every", type=int, default=10, help="FUSE-mount every k-th volume (0: never)")
    parser.add_argument("--delete-sample", type=int, default=None,
                        help="delete only the last K volumes (timed); the cluster's teardown removes the rest")
    parser.add_argument("--samples", type=int, default=20, help="points of the cost-vs-N curve")
    parser.add_argument("--report-dir", type=Path, default=Path("reports"))
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stderr)
    try:
        # Options as the fast profile gives every scenario volume.
        plan = StormPlan(args.volumes, concurrency=args.concurrency, brick_multiplex=not args.no_multiplex,
                         spec=VolumeSpec(VolumeType.REPLICA3, {"network.ping-timeout": "5"}),
                         mount_every=args.mount_every, samples=args.samples, delete_sample=args.delete_sample)
        run_dir = RunDir.create(args.report_dir.resolve(), link_latest=False)
        t0 = time.monotonic()
        cluster = LocalProvider(nodes=3, zones=3, clients=1, volumes=plan.volumes,
                                bricks_per_volume=plan.spec.brick_count, brick_multiplex=plan.brick_multiplex).up()
        try:
            result = run_storm(cluster, plan)
        finally:
            cluster.down()
        wall = time.monotonic() - t0
    except HarnessError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    record = Recorder(run_dir.path, "benchmark").record("storm", result.to_record(), test="benchmarks/storm.py")
    curve_json = write_result(result, run_dir.path)
    png = plot_curves([record], run_dir.path / "storm.png")
    peak, curve = result.peak(), result.curve
    top = max(curve, key=lambda s: s.n)
    print(f"provisioning storm: {plan.volumes} replica-3 volumes, concurrency {plan.concurrency}, "
          f"brick multiplexing {'on' if plan.brick_multiplex else 'off'}")
    print(f"  provisioned          {result.created} ok, {len(result.errors)} errors")
    print(f"  total time           {wall:8.1f} s (cluster up + storm + delete + cluster down)")
    print(f"  create phase         {result.create_s:8.1f} s  ({result.volumes_per_min:.1f} volumes/min)")
    deletes = result.delete_latencies
    print(f"  delete phase         {result.delete_s:8.1f} s  ({len(deletes)} deleted"
          + (f", {result.kept_for_teardown} left to the cluster's teardown" if result.kept_for_teardown else "")
          + (f"; per delete p50 {percentile(deletes, 50):.1f} s, max {max(deletes):.1f} s)" if deletes else ")"))
    for q in (50, 95, 99):
        print(f"  latency p{q:<2}          {result.percentile(q) or float('nan'):8.3f} s")
    print(f"  latency max          {max(result.latencies, default=float('nan')):8.3f} s")
    print(f"  phase means (s)      {result.phase_means()}")
    print(f"  peak gluster RSS     {peak['gluster_rss_mb']} MiB (glusterd {top.glusterd_rss_mb}, "
          f"bricks {top.brick_rss_mb}, shd {top.other_rss_mb} at N={top.n})")
    lowest = peak["min_mem_available_mb"] or 0.0
    print(f"  MemAvailable         {curve[0].mem_available_mb:.0f} MiB before, lowest {lowest:.0f} MiB "
          f"(drop {curve[0].mem_available_mb - lowest:.0f} MiB; other runs share the machine)")
    print(f"  processes at N={top.n:<5} {top.processes} ({top.brick_processes} glusterfsd, "
          f"{top.glusterd_processes} glusterd)")
    print(f"  leftovers            {result.leftovers or 'none'}")
    print(f"  curve                {curve_json}  {png}")
    for err in result.errors[:10]:
        print(f"  error: {err}")
    return 0 if not result.errors and not result.leftovers else 1


if __name__ == "__main__":
    sys.exit(main())
