"""Cost of a mount's file operations sent to a client host (harness.mountfiles): wall time and CPU
(this process plus its children, the client program included) per call, through the client program kept running there, beside
what one `python3 -c` program per call (the transport before it) costs for the same call.

Run: `.venv/bin/python benchmarks/client_ops.py [--calls N]`. The client host is this host (its
programs run here as a local client namespace runs them) and the files go to a temporary directory:
the figures are the transport's, not a volume's.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from harness.mountfiles import SCRIPT, MountFiles, encode, release_programs  # noqa: E402
from tests.unit.thishost import ThisHost  # noqa: E402


def cpu_s() -> float:
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def measure(label: str, calls: int, one_call, done=lambda: None) -> None:
    """`done` ends what the calls left running, so its CPU is counted (a child's, once reaped)."""
    start_wall, start_cpu = time.monotonic(), cpu_s()
    for n in range(calls):
        one_call(n)
    done()
    wall, cpu = time.monotonic() - start_wall, cpu_s() - start_cpu
    print(f"{label:<34} {calls:5d} calls  {wall / calls * 1000:7.2f} ms wall/call  "
          f"{cpu / calls * 1000:7.2f} ms CPU/call  {calls / wall:7.1f} calls/s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=200)
    args = parser.parse_args()
    host = ThisHost()
    with tempfile.TemporaryDirectory() as tmp:
        os.mkdir(os.path.join(tmp, "d"))
        files = MountFiles.of(host, tmp)

        def served(n: int) -> None:
            files.put(f"d/k{n}", b"value")

        def one_program_each(n: int) -> None:
            request = encode([{"op": "put", "path": os.path.join(tmp, f"d/p{n}"), "tag": "t", "data": "dmFsdWU="}], 20.0)
            json.loads(host.run(["python3", "-c", SCRIPT, request]).stdout)

        # The program's start and end are measured too: the first call starts it, release ends it.
        measure("put via the client program", args.calls, served, lambda: release_programs([host]))
        measure("put via a python3 -c program each", args.calls, one_program_each)


if __name__ == "__main__":
    main()
