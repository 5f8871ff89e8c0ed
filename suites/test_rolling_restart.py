"""Rolling restart (SCENARIOS.md R1): every node restarted in turn, heal awaited between steps,
with a client writing throughout: no failed operation, heal 0 after each step."""
from __future__ import annotations

import pytest

from harness import Capability
from harness.checks import check_bricks_consistent, check_heal
from harness.faults import RollingRestart
from harness.latency_probe import LatencyProbe
from harness.results import CheckResult, all_passed
from harness.volume import VolumeType

pytestmark = [pytest.mark.slow, pytest.mark.selfheal,
              pytest.mark.requires(Capability.POD_RESTARTS)]  # node restarts


def test_r1_rolling_restart_fails_no_operation(gluster_cluster, volume_factory, mount_factory, profile, conform,
                                               recorder, run_dir, request, record_heal):
    volume = volume_factory(VolumeType.REPLICA3, {"cluster.quorum-type": "auto"})
    mount = mount_factory(volume)
    with LatencyProbe(mount) as probe:
        probe.mark("during_fault")
        with RollingRestart(gluster_cluster, volumes=[volume], heal_timeout=profile.heal_timeout_s, mounts=[mount],
                            timeout=profile.fault_timeout_s) as rolling:
            pass  # inject restarts each node in turn and waits for heal after each step
        probe.mark("after")
        probe.stop()
    # After the writes stop: AFR's last post-ops land after close() returns, so settle first.
    heal = check_heal(volume, profile.heal_timeout_s)
    record_heal("R1", volume, heal)
    probe.record(recorder, run_dir, request.node.nodeid, "R1")
    steps = rolling.effect.get("steps", [])
    io = CheckResult("no failed operation during the rolling restart", probe.failures() == 0,
                     f"{probe.failures()} failed writes of {len(probe.points)}", "0 failed writes",
                     {"errors": probe.errors[:5], "steps": steps, "phases": probe.phase_stats()})
    conform("R1", volume, "rolling restart of every node, heal awaited between steps",
            all_passed([io, heal, check_bricks_consistent(volume)]))
