"""Per fault kind, on the embedded local cluster (3 nodes in 3 zones, replica 3, ping-timeout 5):
median seconds from inject to effect confirmed, and from revert to volume whole (bricks online,
peers Connected, client children up, pending heal 0); and the latency fault's accuracy,
requested vs measured median and p99 (TCP connect time = one round trip, between namespaces).

Run: `.venv/bin/python benchmarks/faults.py [--runs 3] [--probes 500] [--json out.json]`.
Goals (issue 3): effect confirmed within 1 s for process and network faults; 5 ms requested ->
5.0-6.0 ms median measured.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Callable

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from harness import faults as F  # noqa: E402
from harness.faults.probe import probe_connect  # noqa: E402
from harness.health import wait_volume_whole  # noqa: E402
from harness.providers.local import LocalProvider  # noqa: E402
from harness.timeline import Phase  # noqa: E402
from harness.volume import VolumeSpec, VolumeType, create_volume  # noqa: E402


def kinds(cluster, volume) -> list[tuple[str, Callable[[], F.Fault], bool]]:
    """(label, factory, slow) for every fault kind."""
    c = cluster
    return [
        ("kill-brick", lambda: F.KillBrick(c, volume, [1]), False),
        ("kill-glusterd", lambda: F.KillGlusterd(c, "node2"), False),
        ("kill-self-heal", lambda: F.KillSelfHeal(c, "node3", volume), False),
        ("restart-pod", lambda: F.RestartPod(c, "node2", volumes=[volume]), False),
        ("node-crash", lambda: F.NodeCrash(c, "node3"), False),
        ("node-hang", lambda: F.NodeHang(c, "node3"), False),
        ("zone-outage crash", lambda: F.ZoneOutage(c, "zone-b", mode="crash"), False),
        ("zone-outage isolate", lambda: F.ZoneOutage(c, "zone-b", mode="isolate"), False),
        ("network-partition", lambda: F.NetworkPartition(c, [["node1", "client1"], ["node2", "node3"]]), False),
        ("isolate-node", lambda: F.IsolateNode(c, node="node3"), False),
        ("packet-loss 10%", lambda: F.PacketLoss(c, hosts=["node2"], percent=10), False),
        ("latency 5 ms", lambda: F.Latency(c, hosts=["node1"], delay_ms=5), False),
        ("slow-disk", lambda: F.SlowDisk(c, volume, delay_us=50_000), True),
        ("failing-disk", lambda: F.FailingDisk(c, volume), True),
        ("brick-loss", lambda: F.BrickLoss(c, volume, 2), True),
        ("rolling-restart", lambda: F.RollingRestart(c, [volume]), True),
    ]


def measure_kind(fault: F.Fault, volume, mount, timeout: float) -> tuple[float, float]:
    (mount / f"bench-{fault.fault_id}").write_text("x" * 1000)
    fault.inject()
    events = {e.phase: e for e in fault.timeline.for_fault(fault.fault_id)}
    effect = events[Phase.EFFECT.value].mono - events[Phase.START.value].mono
    start = time.monotonic()
    fault.revert()
    wait_volume_whole(volume, [mount], timeout=timeout)
    return effect, time.monotonic() - start


def latency_accuracy(cluster, requested: list[float], probes: int) -> list[dict]:
    rows = []
    node1, node2 = cluster.node("node1"), cluster.node("node2")
    base = probe_connect(node1, node2.address, count=probes)
    rows.append({"requested_ms": 0.0, "median_ms": base.median_ms, "p99_ms": base.percentile_ms(99),
                 "what": "baseline node1->node2"})
    for ms in requested:
        with F.Latency(cluster, hosts=["node1"], delay_ms=ms):
            r = probe_connect(node1, node2.address, count=probes, timeout=1.0)
        rows.append({"requested_ms": ms, "median_ms": r.median_ms, "p99_ms": r.percentile_ms(99),
                     "what": "node1 egress, connect node1->node2"})
    with F.between_zones(cluster, rtt_ms=5.0):
        r = probe_connect(node2, node1.address, count=probes, timeout=1.0)
    rows.append({"requested_ms": 5.0, "median_ms": r.median_ms, "p99_ms": r.percentile_ms(99),
                 "what": "5 ms RTT between zones, connect node2->node1"})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3, help="runs per cheap fault kind (slow kinds run once)")
    parser.add_argument("--probes", type=int, default=500, help="connects per latency measurement")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    cluster = LocalProvider(nodes=3, zones=3, clients=2).up()
    try:
        volume = create_volume(cluster, VolumeSpec(VolumeType.REPLICA3, {"network.ping-timeout": "5"}))
        mount = cluster.mount(volume, cluster.client("client1"))
        results = {}
        for label, make, slow in kinds(cluster, volume):
            samples = [measure_kind(make(), volume, mount, 180.0) for _ in range(1 if slow else args.runs)]
            results[label] = {"runs": len(samples),
                              "inject_to_effect_s": statistics.median(s[0] for s in samples),
                              "revert_to_whole_s": statistics.median(s[1] for s in samples)}
            print(f"{label:22} runs {len(samples)}  inject->effect {results[label]['inject_to_effect_s']:7.3f} s  "
                  f"revert->whole {results[label]['revert_to_whole_s']:7.3f} s", flush=True)
        accuracy = latency_accuracy(cluster, [1.0, 5.0, 10.0], args.probes)
        print("\nlatency accuracy (TCP connect = one round trip, %d probes each):" % args.probes)
        for row in accuracy:
            print(f"  requested {row['requested_ms']:5.1f} ms  measured median {row['median_ms']:7.3f} ms  "
                  f"p99 {row['p99_ms']:7.3f} ms   ({row['what']})")
        if args.json:
            args.json.write_text(json.dumps({"kinds": results, "latency": accuracy}, indent=2))
    finally:
        cluster.down()


if __name__ == "__main__":
    main()
