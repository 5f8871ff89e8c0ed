"""Workloads over every access path (FUSE file, loop block device, gfapi, S3), as a baseline and
under faults, with per-phase latency percentiles, unavailability windows and the history verdict.

Expected on replica 3 (SCENARIOS.md Q1, N1, Z1): no acknowledged write is lost and no value is
read that was never written; with one brick killed I/O goes on; a hung node stalls clients
until network.ping-timeout.
"""
from __future__ import annotations

import dataclasses
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pytest

from harness import Capability
from harness.faults import KillBrick, NodeHang, ZoneOutage
from harness.history import FileStore, S3Store, Store
from harness.volume import Volume, VolumeType
from harness.workloads.block import attach_loop
from harness.workloads.fio import BlockTarget, FileTarget, FioJob, GfapiTarget, fio_ops_completed, run_fio
from harness.workloads.locust import LocustJob, requests_completed, run_locust
from harness.workloads.s3client import make_client
from harness.workloads.s3gateway import start_gateway
from harness.workloads.scenario import PhasePlan, Workload, run_phases

# fio, the loop device, the S3 gateway, locust and the histories run in a client host through the
# contract (commands and the mounts' file API), on every provider that has them.
pytestmark = [pytest.mark.workload, pytest.mark.requires(Capability.CLIENT_WORKLOADS)]
BLOCK = pytest.mark.requires(Capability.LOOP_DEVICES)
S3 = pytest.mark.requires(Capability.S3_GATEWAY)
KILL = pytest.mark.requires(Capability.NODE_PROCESSES)  # KillBrick signals the brick inside its node
WHOLE_NODE = pytest.mark.requires(Capability.WHOLE_NODE_FAULTS)  # this host's signals, or a node runtime
# History clients pause 0.2 s between operations: each write is a file created and renamed in one
# directory, so while a brick is down every write leaves entries to heal, and clients writing into
# that directory during the heal contend with it for the directory's entry lock (at 0.05 s a zone
# outage left ~265 entries healing for 53-81 s, over the fast profile's 60 s heal gate).
# "before" starts at the workload's first measured operation (fio's status, locust's samples file),
# however long laying out, gfapi init or a loaded machine delays it: startup_s is the longest wait.
PLAN = PhasePlan(before_s=2.0, startup_s=60.0, fault_s=4.0, after_s=3.0, heal_allowance_s=6.0,
                 heal_timeout_s=240.0, history_think_s=0.2)
# Paced, not flat out: each S3 write during the fault leaves about six entries to heal (object,
# its directories, container updates), and a saturated gateway starves the self-heal daemon of CPU.
# The entries pile up for as long as the bricks are down, which on k8s-local includes the node's
# restart (kubelet recreating its pods, ~20 s): at 0.2 s and 0.5 s a zone outage there left ~400
# entries, healed in 49-69 s (while the S3 load went on) against the fast profile's 60 s gate.
S3_LOAD = {"users": 1, "wait_s": 0.5}
S3_HISTORY_THINK_S = 1.0
FIO_SIZE = "16M"
ALL_PHASES = ["before", "during_fault", "during_heal", "after"]
SCENARIO_IDS = {"baseline": "W0", "kill-brick": "Q1", "node-hang": "N1", "zone-outage": "Z1"}  # SCENARIOS.md

FAULTS: dict[str, Callable | None] = {
    "baseline": None,
    "kill-brick": lambda cluster, volume, mounts: KillBrick(cluster, volume, bricks=(0,), mounts=mounts),
    "node-hang": lambda cluster, volume, mounts: NodeHang(cluster, cluster.nodes[0].name, mounts=mounts),
    "zone-outage": lambda cluster, volume, mounts: ZoneOutage(cluster, cluster.nodes[0].zone, mounts=mounts),
}


@dataclass
class AccessPath:
    volume: Volume
    mounts: list
    workload: Workload
    stores: dict[str, Store]
    history_file: Path
    measured: Callable[[], int]  # operations measured so far


@pytest.fixture
def access_path(gluster_cluster, volume_factory, mount_factory, run_dir, request):
    """factory(access) -> AccessPath on a fresh replica-3 volume mounted on two client hosts."""
    stack = ExitStack()
    out = run_dir.path / "workloads" / request.node.name.replace("/", "_")

    def make(access: str) -> AccessPath:
        c1, c2 = gluster_cluster.clients[0], gluster_cluster.clients[-1]
        volume = volume_factory(VolumeType.REPLICA3)
        mounts = [mount_factory(volume, c1), mount_factory(volume, c2)]
        mounts[0].files.mkdir("history")
        stores: dict[str, Store] = {c.name: FileStore(m.files.sub("history")) for c, m in zip((c1, c2), mounts)}
        if access == "file":
            def workload(rt): return run_fio(c1, FileTarget(mounts[0]), FioJob("randrw", FIO_SIZE, rt),
                                             out).series.values()
        elif access == "block":
            loop = stack.enter_context(attach_loop(c1, mounts[0], FIO_SIZE))
            def workload(rt): return run_fio(c1, BlockTarget(loop.device), FioJob("randrw", FIO_SIZE, rt, iodepth=4),
                                             out).series.values()
        elif access == "gfapi":
            server = gluster_cluster.nodes[-1].address  # outside every fault below
            def workload(rt): return run_fio(c1, GfapiTarget(volume.name, server), FioJob("randrw", FIO_SIZE, rt),
                                             out).series.values()
        else:
            gateway = stack.enter_context(start_gateway(c1, mounts[0], out / f"gateway-{volume.name}"))
            make_client(gateway.endpoint(c1)).create_bucket(Bucket="history")
            stores = {c.name: S3Store(make_client(gateway.endpoint(c), read_timeout=20), "history") for c in (c1, c2)}
            def workload(rt): return [run_locust(c2, gateway.endpoint(c2), LocustJob(run_time_s=rt, **S3_LOAD),
                                                 out).series]
            return AccessPath(volume, mounts, workload, stores, out / f"history-{access}.jsonl",
                              lambda: requests_completed(out))
        return AccessPath(volume, mounts, workload, stores, out / f"history-{access}.jsonl",
                          lambda: fio_ops_completed(out))

    out.mkdir(parents=True, exist_ok=True)
    with stack:  # gateway stopped and loop detached before the mounts go
        yield make


@pytest.mark.parametrize("fault_kind", [
    "baseline", pytest.param("kill-brick", marks=KILL),
    pytest.param("node-hang", marks=[pytest.mark.slow, WHOLE_NODE]),
    pytest.param("zone-outage", marks=[pytest.mark.slow, WHOLE_NODE]),
])
@pytest.mark.parametrize("access", ["file", pytest.param("block", marks=BLOCK), "gfapi", pytest.param("s3", marks=S3)])
def test_workload_keeps_every_acknowledged_write(access, fault_kind, access_path, gluster_cluster, recorder, run_dir,
                                                 request):
    path = access_path(access)
    make_fault = FAULTS[fault_kind]
    fault = make_fault(gluster_cluster, path.volume, path.mounts) if make_fault else None
    plan = dataclasses.replace(PLAN, history_think_s=S3_HISTORY_THINK_S) if access == "s3" else PLAN
    report = run_phases(access, path.workload, path.stores, path.history_file, path.volume, fault, plan, path.measured)
    for record in report.records(run_dir.path, path.history_file.parent, SCENARIO_IDS[fault_kind]):
        recorder.record(record.pop("kind"), record, request.node.nodeid)

    assert report.history.valid is True, report.history.to_check_result().explain()
    assert [p.name for p in report.phases] == (["before"] if fault is None else ALL_PHASES)
    assert report.latency, "the workload produced no latency series"
    for name, stats in report.latency.items():
        assert stats[0].count > 0 and stats[0].percentiles_ms["p99"] is not None, f"{name} did not run: {stats[0]}"
        if fault_kind == "kill-brick":  # Q1: one brick down, I/O goes on
            assert report.phase(name, "during_fault").count > 0, f"{name} stopped while one brick was down"
    if fault_kind == "node-hang":  # N1: the hung node stalls clients until network.ping-timeout
        fault_phase = report.phases[1]
        assert any(w.start < fault_phase.end and w.end > fault_phase.start for w in report.history.unavailability), \
            f"no client stalled during the hang: {report.history.unavailability}"
