"""Network faults on the real local cluster: partitions, isolation, loss, latency, composition,
and bad targets rejected before anything changes."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from harness.errors import ConfigError
from harness.faults import IsolateNode, Latency, NetworkPartition, PacketLoss, between_zones
from harness.faults.probe import probe_connect
from harness.health import wait_volume_whole
from harness.timeline import Phase

from ..faults_helpers import (ENOTCONN, fault_rules, fault_state_files, netfilter_state, no_fault_rules, write_error,
                            write_sync)


@pytest.fixture
def two_mounts(volume_factory, mount_factory):
    volume = volume_factory("replica3")
    return volume, mount_factory(volume, "client1"), mount_factory(volume, "client2")


def test_partition_minority_client_fails_majority_writes_and_revert_makes_volume_whole(
        gluster_cluster, two_mounts, profile, timeline):
    volume, minority, majority = two_mounts
    fault = NetworkPartition(gluster_cluster, [["node1", "client1"], ["node2", "node3", "client2"]])
    with fault:
        assert probe_connect(gluster_cluster.client("client1"), gluster_cluster.node("node2").address).blocked
        assert not probe_connect(gluster_cluster.client("client1"), gluster_cluster.node("node1").address).blocked
        with ThreadPoolExecutor(2) as pool:
            lost = pool.submit(write_error, minority / "minority")
            kept = pool.submit(write_error, majority / "majority")
            assert lost.result(timeout=60) == ENOTCONN  # client quorum lost: unavailable, not read-only
            assert kept.result(timeout=60) is None
    assert no_fault_rules(gluster_cluster)
    whole = wait_volume_whole(volume, [minority, majority], timeout=profile.heal_timeout_s)
    assert (minority / "majority").read_bytes() == b"x" * 4096
    phases = [e.phase for e in timeline.for_fault(fault.fault_id)]
    assert phases == [Phase.START, Phase.EFFECT, Phase.REVERT, Phase.REVERTED]
    assert whole.heal.samples[-1][1] == 0


def test_isolated_node_is_unreachable_and_peers_reconnect(gluster_cluster, two_mounts):
    volume, m1, m2 = two_mounts
    node3 = gluster_cluster.node("node3")
    with IsolateNode(gluster_cluster, node="node3") as fault:
        for src in ("node1", "node2", "client1"):
            host = gluster_cluster.node(src) if src.startswith("node") else gluster_cluster.client(src)
            assert probe_connect(host, node3.address).blocked, src
        write_sync(m1 / "during-isolation")  # replica 3 keeps quorum with two bricks
    assert fault.effect["probes_blocked"]
    assert not probe_connect(gluster_cluster.node("node1"), node3.address).blocked
    wait_volume_whole(volume, [m1, m2], timeout=120)


def test_one_way_partition_drops_only_one_direction(gluster_cluster, volume_factory):
    with NetworkPartition(gluster_cluster, [["node1"], ["node2"]], one_way=True):
        rules = netfilter_state(gluster_cluster)
        assert "daddr" in rules["node1"][0] and "saddr" not in rules["node1"][0]
        assert "saddr" in rules["node2"][0] and "daddr" not in rules["node2"][0]
        assert fault_rules(gluster_cluster)["node3"] == []
        assert probe_connect(gluster_cluster.node("node1"), gluster_cluster.node("node2").address).blocked
        assert not probe_connect(gluster_cluster.node("node3"), gluster_cluster.node("node2").address).blocked


def test_packet_loss_drops_about_the_requested_share(gluster_cluster, volume_factory):
    node1, node2 = gluster_cluster.node("node1"), gluster_cluster.node("node2")
    with PacketLoss(gluster_cluster, hosts=["node1"], percent=50):
        # A connect whose SYN is dropped does not finish within 0.2 s (the retry comes after 1 s).
        lossy = probe_connect(node1, node2.address, count=60, timeout=0.2)
        assert 0.2 <= lossy.loss <= 0.8, lossy
    clean = probe_connect(node1, node2.address, count=30, timeout=0.2)
    assert clean.loss == 0.0


def test_latency_is_measured_from_outside_and_removed_on_revert(gluster_cluster, volume_factory, timeline):
    client, node1 = gluster_cluster.client("client1"), gluster_cluster.node("node1")
    base = probe_connect(client, node1.address, count=20)
    with Latency(gluster_cluster, hosts=["node1"], delay_ms=5) as fault:
        # client -> node1: node1's SYN-ACK is delayed, so one connect shows the delay once
        seen = probe_connect(client, node1.address, count=40)
        assert 4.5 <= seen.median_ms <= 9.0, seen
        delayers = [p for p in node1.pids() if b"delayer.py" in open(f"/proc/{p}/cmdline", "rb").read()]
        assert len(delayers) == 1
    after = probe_connect(client, node1.address, count=20)
    assert after.median_ms < base.median_ms + 1.0
    assert all(b"delayer.py" not in open(f"/proc/{p}/cmdline", "rb").read() for p in node1.pids())
    effect = [e for e in timeline.for_fault(fault.fault_id) if e.phase == Phase.EFFECT][0].details
    assert effect["requested_ms"] == 5.0 and effect["measured_median_ms"] >= 4.5


def test_five_ms_round_trip_between_zones(gluster_cluster, volume_factory):
    node1, node2 = gluster_cluster.node("node1"), gluster_cluster.node("node2")
    with between_zones(gluster_cluster, rtt_ms=5) as fault:
        seen = probe_connect(node2, node1.address, count=40)
        assert 4.5 <= seen.median_ms <= 9.0, seen
    assert fault.effect["requested_rtt_ms"] == 5.0


def test_faults_compose_partition_during_latency(gluster_cluster, two_mounts, timeline):
    volume, m1, m2 = two_mounts
    node1, node3 = gluster_cluster.node("node1"), gluster_cluster.node("node3")
    with Latency(gluster_cluster, hosts=["node1"], delay_ms=5) as outer:
        with IsolateNode(gluster_cluster, node="node3") as inner:
            assert probe_connect(node1, node3.address).blocked
            assert probe_connect(node1, gluster_cluster.node("node2").address, count=10).median_ms >= 4.5
            write_sync(m1 / "composed")
        assert not probe_connect(node1, node3.address).blocked  # inner revert kept the outer fault
        # Nested: the volume cannot be whole while the outer fault holds; the outer revert checks it.
        reverted = [e for e in timeline.for_fault(inner.fault_id) if e.phase == Phase.REVERTED][0]
        assert reverted.details["whole_check_left_to"] == [outer.fault_id]
        assert probe_connect(node1, gluster_cluster.node("node2").address, count=10).median_ms >= 4.5
    assert no_fault_rules(gluster_cluster), fault_rules(gluster_cluster)
    wait_volume_whole(volume, [m1, m2], timeout=120)


@pytest.mark.parametrize("make, message", [
    (lambda c: NetworkPartition(c, [["node1"], ["nodeX"]]), "unknown host 'nodeX'"),
    (lambda c: NetworkPartition(c, [["node1", "node2"], ["node2", "node3"]]), "must not overlap"),
    (lambda c: IsolateNode(c, node="node9"), "no node named 'node9'"),
    (lambda c: IsolateNode(c, zone="zone-z"), "no node in zone 'zone-z'"),
    (lambda c: Latency(c, hosts=["node1"], delay_ms=0), "delay_ms must be within"),
    (lambda c: Latency(c, hosts=["node1"], delay_ms=5000), "delay_ms must be within"),
    (lambda c: Latency(c, zones=["zone-q"], delay_ms=5), "no zone 'zone-q'"),
    (lambda c: PacketLoss(c, hosts=["node1"], percent=120), "within 0..100"),
    (lambda c: PacketLoss(c, hosts=["node1"], percent=-1), "within 0..100"),
])
def test_bad_targets_are_rejected_before_anything_changes(gluster_cluster, timeline, make, message):
    before = (netfilter_state(gluster_cluster), fault_state_files(gluster_cluster), len(timeline.events))
    with pytest.raises(ConfigError, match=message):
        make(gluster_cluster)
    assert (netfilter_state(gluster_cluster), fault_state_files(gluster_cluster), len(timeline.events)) == before
