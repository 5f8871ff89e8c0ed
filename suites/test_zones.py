"""Zones and hung nodes (SCENARIOS.md Z1, Z2, N1): I/O continues through a zone outage and through
5 ms between zones; a hung node stalls I/O until ping-timeout, then I/O continues. Latency per
phase (before / during fault / during heal / after) is recorded for the report."""
from __future__ import annotations

import time

import pytest

from harness import Capability
from harness.checks import check_bricks_consistent, check_heal
from harness.checks.stall import check_ping_timeout_stall
from harness.faults import Latency, NodeHang, ZoneOutage, between_zones
from harness.health import run_heal_command
from harness.latency_probe import LatencyProbe
from harness.results import CheckResult, all_passed
from harness.volume import VolumeType
from harness.waiting import wait_for

pytestmark = [pytest.mark.slow]

AUTO = {"cluster.quorum-type": "auto"}
MIN_OPS_DURING_FAULT = 50


def _ms(value: float | None) -> str:
    return "none" if value is None else f"{value:.1f} ms"


def ops_since(probe: LatencyProbe, t: float) -> int:
    return sum(1 for p in probe.points if p.t >= t and p.ok)


def finish(probe, volume, profile, record_heal, scenario: str) -> tuple[CheckResult, dict]:
    """After the revert: heal while the probe keeps writing, then a short 'after' phase, then the
    writes stop and the volume settles (AFR's last post-ops land after close() returns)."""
    probe.mark("during_heal")
    heal = check_heal(volume, profile.heal_timeout_s)
    record_heal(scenario, volume, heal)
    probe.mark("after")
    mark = probe.marks[-1][1]
    wait_for(lambda: ops_since(probe, mark) >= MIN_OPS_DURING_FAULT, timeout=60, what="writes after heal")
    probe.stop()
    settled = check_heal(volume, profile.heal_timeout_s, name="self-heal completes once writes stop")
    return all_passed([heal, settled]), probe.phase_stats()


@pytest.mark.requires(Capability.WHOLE_NODE_FAULTS)
@pytest.mark.parametrize("kind", [VolumeType.REPLICA3, VolumeType.ARBITER], ids=lambda k: k.value)
def test_z1_zone_outage_is_transparent(kind, gluster_cluster, volume_factory, mount_factory, profile, conform,
                                       recorder, run_dir, request, record_heal):
    volume = volume_factory(kind, AUTO)
    mount = mount_factory(volume)
    zone = gluster_cluster.zones[-1]
    with LatencyProbe(mount) as probe:
        probe.mark("during_fault")  # the phase starts when the fault is injected, not once confirmed
        start = probe.marks[-1][1]
        with ZoneOutage(gluster_cluster, zone, mode="crash", mounts=[mount], timeout=profile.fault_timeout_s):
            wait_for(lambda: ops_since(probe, start) >= MIN_OPS_DURING_FAULT, timeout=60, what="writes during outage")
        heal, phases = finish(probe, volume, profile, record_heal, "Z1")
    probe.record(recorder, run_dir, request.node.nodeid, "Z1")
    io = CheckResult("I/O continues through the zone outage", probe.failures() == 0,
                     f"{probe.failures()} failed writes; max latency {probe.max_stall_s() * 1000:.0f} ms",
                     "0 failed writes", {"phases": phases, "errors": probe.errors[:5]})
    conform("Z1", volume, f"zone outage: every node of {zone} crashed",
            all_passed([io, heal, check_bricks_consistent(volume)]))


@pytest.mark.requires(Capability.PACKET_DELAY)
def test_z2_five_ms_between_zones_slows_writes_but_io_continues(gluster_cluster, volume_factory, mount_factory,
                                                                 profile, conform, recorder, run_dir, request,
                                                                 record_heal):
    """The client stands in zone-a: 5 ms more round trip to the other zones, and between them."""
    rtt_ms = 5.0
    volume = volume_factory(VolumeType.REPLICA3, AUTO)
    client = gluster_cluster.clients[0]
    mount = mount_factory(volume, client)
    home, *remote = gluster_cluster.zones
    with LatencyProbe(mount) as probe:
        wait_for(lambda: ops_since(probe, 0) >= MIN_OPS_DURING_FAULT, timeout=60, what="writes before the fault")
        with between_zones(gluster_cluster, rtt_ms, timeout=profile.fault_timeout_s) as zones_delay, \
                Latency(gluster_cluster, hosts=[client.name], to=remote, delay_ms=rtt_ms,
                        timeout=profile.fault_timeout_s):
            # Marked once the delay is confirmed: writes while it is being set up are not delayed.
            probe.mark("during_fault")
            start = probe.marks[-1][1]
            wait_for(lambda: ops_since(probe, start) >= MIN_OPS_DURING_FAULT, timeout=60, what="writes under delay")
            delay_end = time.time()
        heal, phases = finish(probe, volume, profile, record_heal, "Z2")
    probe.record(recorder, run_dir, request.node.nodeid, "Z2")
    # Every write waits for the remote zones' bricks, so none that began and ended under the delay can
    # be faster than one added round trip. (Medians do not add up: on a loaded machine the time a
    # write spends waiting for a CPU overlaps the time its packets are held.)
    delayed = [p.latency_ms for p in probe.points if p.ok and start <= p.t and p.t + p.latency_ms / 1000 <= delay_end]
    undelayed = [p.latency_ms for p in probe.points if p.ok and p.t < probe.marks[1][1]]
    fastest = min(delayed, default=None)
    slower = CheckResult("every write under the delay waits at least one added round trip",
                         fastest is not None and fastest >= rtt_ms,
                         f"fastest of {len(delayed)} writes under the delay {_ms(fastest)} "
                         f"(fastest before it {_ms(min(undelayed, default=None))})",
                         f"fastest write >= {rtt_ms:g} ms", {"phases": phases, "delay": zones_delay.effect})
    io = CheckResult("I/O continues", probe.failures() == 0, f"{probe.failures()} failed writes", "0 failed writes")
    conform("Z2", volume, f"{rtt_ms:g} ms RTT between zones (client in {home})", all_passed([io, slower, heal]))


@pytest.mark.requires(Capability.WHOLE_NODE_FAULTS)
def test_n1_hung_node_stalls_io_until_ping_timeout(gluster_cluster, volume_factory, mount_factory, profile, conform,
                                                   recorder, run_dir, request, record_heal):
    volume = volume_factory(VolumeType.REPLICA3, AUTO)
    ping_timeout = float(gluster_cluster.gluster.volume_get(volume.name, "network.ping-timeout"))
    mount = mount_factory(volume)
    node = gluster_cluster.nodes[-1]
    with LatencyProbe(mount) as probe:
        wait_for(lambda: ops_since(probe, 0) >= MIN_OPS_DURING_FAULT, timeout=60, what="writes before the hang")
        probe.mark("during_fault")  # a write in flight when the node stops stalls from here
        start = probe.marks[-1][1]
        with NodeHang(gluster_cluster, node.name, mounts=[mount], timeout=profile.fault_timeout_s + ping_timeout):
            # Hold the hang until writes flow again past the stall (the client declared the node dead).
            wait_for(lambda: ops_since(probe, start) >= MIN_OPS_DURING_FAULT, timeout=3 * ping_timeout + 30,
                     what="writes to resume after ping-timeout")
        # An idle self-heal daemon sends no ping: it may never see the hung node go, so no index crawl
        # starts before cluster.heal-timeout (600 s), while the clients left entries pending (README,
        # "Node hang"). An operator asks for a heal after a hang, as the workload runner and the
        # node-hang experiment do: 32 entries stayed pending for 240 s in a loaded qualify run without.
        run_heal_command(volume)
        heal, phases = finish(probe, volume, profile, record_heal, "N1")
    probe.record(recorder, run_dir, request.node.nodeid, "N1")
    # The stall is the longest single write from the hang on (the probe's op granularity; see check_ping_timeout_stall).
    stall = max((p.latency_ms for p in probe.points if p.t >= start), default=0.0) / 1000.0
    stalled = check_ping_timeout_stall(stall, ping_timeout)
    io = CheckResult("no write fails under the hang", probe.failures() == 0, f"{probe.failures()} failed writes",
                     "0 failed writes", {"phases": phases, "errors": probe.errors[:5]})
    conform("N1", volume, f"node hang: every process of {node.name} stopped, then resumed; volume heal",
            all_passed([stalled, io, heal]))
