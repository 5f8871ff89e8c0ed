"""Workload figures on the embedded local cluster (replica 3, 3 nodes in 3 zones, 2 client hosts):

- fio 4k random read on a FUSE file through the harness's runner (client namespace, private /tmp)
  against the same fio command run bare from the host, interleaved: IOPS and p99, and their ratio
  (goal >= 0.98: the harness adds no measurable cost);
- the S3 gateway's start time (Swift + memcached, configs and rings generated per start);
- locust over S3 with 4 users: requests/s, p50 and p99;
- history clients (2 concurrent, no think time) over FUSE and over S3: operations/s.

Run: `.venv/bin/python benchmarks/workloads.py [--runs 3] [--fio-runtime 5] [--locust-runtime 15]`.
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from harness.history import FileStore, S3Store, check_history, run_clients  # noqa: E402
from harness.providers.local import LocalProvider  # noqa: E402
from harness.runner import run  # noqa: E402
from harness.volume import VolumeSpec, VolumeType, create_volume  # noqa: E402
from harness.workloads.fio import FileTarget, FioJob, fio_argv, parse_result, run_fio  # noqa: E402
from harness.workloads.locust import LocustJob, run_locust  # noqa: E402
from harness.workloads.s3client import make_client  # noqa: E402
from harness.workloads.s3gateway import start_gateway  # noqa: E402


def fio_bare(job: FioJob, target: FileTarget, out: Path, n: int):
    """The same fio argv the runner builds, run straight from the host (no namespace entry)."""
    folder = out / f"bare-{n}"
    folder.mkdir(parents=True)
    shutil.copyfile(job.job_file, folder / job.job_file.name)
    run(["sh", "-c", 'cd "$1" && shift && exec "$@"', "sh", str(folder), *fio_argv(job, target)],
        timeout=job.runtime_s + 120)
    return parse_result(job.workload, "file-bare", folder, 0, 0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=6, help="interleaved fio runs of each kind (default 6)")
    parser.add_argument("--fio-runtime", type=int, default=5)
    parser.add_argument("--fio-size", default="64M")
    parser.add_argument("--locust-runtime", type=int, default=15)
    parser.add_argument("--history-seconds", type=float, default=5.0)
    args = parser.parse_args()

    print("load average at start: %.1f %.1f %.1f on %d cores (other work on the machine skews every figure)"
          % (*os.getloadavg(), os.cpu_count() or 0))
    cluster = LocalProvider(nodes=3, zones=3, clients=2).up()
    try:
        c1, c2 = cluster.clients[0], cluster.clients[1]
        volume = create_volume(cluster, VolumeSpec(VolumeType.REPLICA3, {"network.ping-timeout": "5"}))
        m1, m2 = cluster.mount(volume, c1), cluster.mount(volume, c2)
        out = Path(tempfile.mkdtemp(prefix="bench-", dir=cluster.root))

        # O_DIRECT, so page-cache hits (which grow run after run) do not decide the comparison.
        job, target = FioJob("randread", args.fio_size, args.fio_runtime), FileTarget(m1, direct=True)
        run_fio(c1, target, job, out / "warmup")  # lays the file out; not counted
        harness, bare = [], []
        for n in range(args.runs):  # alternating order (ABBA) so drift in machine load cancels out
            if n % 2 == 0:
                harness.append(run_fio(c1, target, job, out / "harness"))
                bare.append(fio_bare(job, target, out, n))
            else:
                bare.append(fio_bare(job, target, out, n))
                harness.append(run_fio(c1, target, job, out / "harness"))
        h_iops = statistics.median(r.iops for r in harness)
        b_iops = statistics.median(r.iops for r in bare)
        h_p99 = statistics.median(r.read.clat.p99_ms for r in harness)
        b_p99 = statistics.median(r.read.clat.p99_ms for r in bare)
        print(f"fio 4k randread, O_DIRECT, on a FUSE file ({args.fio_size}, {args.fio_runtime} s, median of {args.runs} "
              f"interleaved runs each)")
        print(f"  harness runner : {h_iops:9.0f} IOPS   p99 {h_p99:7.3f} ms   (runs: "
              f"{', '.join(f'{r.iops:.0f}' for r in harness)})")
        print(f"  bare fio       : {b_iops:9.0f} IOPS   p99 {b_p99:7.3f} ms   (runs: "
              f"{', '.join(f'{r.iops:.0f}' for r in bare)})")
        print(f"  ratio harness/bare: IOPS {h_iops / b_iops:.3f} (goal >= 0.98), p99 {h_p99 / b_p99:.3f} "
              f"(lower is better)")

        starts = []
        for n in range(3):
            gateway = start_gateway(c1, m1, out / f"gateway-{n}")
            starts.append(gateway.start_seconds)
            if n < 2:
                gateway.stop()
        print(f"S3 gateway start (Swift proxy/account/container/object + memcached, configs and rings generated): "
              f"median {statistics.median(starts):.2f} s, max {max(starts):.2f} s (goal < 3 s)")
        try:
            endpoint = gateway.endpoint(c2)
            result = run_locust(c2, endpoint, LocustJob(users=4, run_time_s=args.locust_runtime), out / "locust")
            t = result.total
            print(f"locust S3, 4 users, {args.locust_runtime} s from {c2.name} to the gateway on {c1.name}: "
                  f"{t.rps:.1f} req/s, p50 {t.p50_ms:.0f} ms, p99 {t.p99_ms:.0f} ms, {t.requests} requests, "
                  f"{t.failures} failures")
            for name, s in sorted(result.per_request.items()):
                print(f"    {name:10} {s.requests:6d} req  p50 {s.p50_ms:6.0f} ms  p99 {s.p99_ms:6.0f} ms")

            for d in (m1 / "h", m2 / "h"):
                d.mkdir(exist_ok=True)
            file_run = run_clients({"a": FileStore(m1 / "h"), "b": FileStore(m2 / "h")}, args.history_seconds)
            make_client(gateway.endpoint(c1)).create_bucket(Bucket="bench-history")
            s3_run = run_clients({"a": S3Store(make_client(gateway.endpoint(c1)), "bench-history"),
                                  "b": S3Store(make_client(endpoint), "bench-history")}, args.history_seconds)
            for label, r in (("FUSE (2 mounts on 2 hosts)", file_run), ("S3 (2 hosts)", s3_run)):
                verdict = check_history(r.ops)
                print(f"history clients over {label}: {r.ops_per_s:.0f} ops/s for {r.duration_s:.1f} s, "
                      f"verdict valid={verdict.valid}, visibility p50 {verdict.visibility['p50_s']} s")
        finally:
            gateway.stop()
    finally:
        cluster.down()
    print("load average at end: %.1f %.1f %.1f" % os.getloadavg())


if __name__ == "__main__":
    main()
