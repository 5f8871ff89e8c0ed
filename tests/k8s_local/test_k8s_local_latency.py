"""Packet delay on k8s-local: the NFQUEUE rule goes in through the pod (the node's host network, or a
client pod's own network), the userspace delayer runs from this host in that network namespace and in
the node's cgroup tree. Measured from inside the pods; removed on revert. Negative control: the
delay is gone after the revert, and no delayer process is left in the node's tree."""
from __future__ import annotations

import os
from pathlib import Path


from harness.faults import Latency, between_zones
from harness.faults.probe import probe_connect
from harness.providers.host.cgroups import CGROUP_FS, cgroup_top

from .conftest import k8s_built

pytestmark = k8s_built



def delayers(cluster, node: str) -> list[int]:
    """Delayer processes in the node's cgroup tree, as this host sees them."""
    found = []
    for directory, _, _ in os.walk(CGROUP_FS / "freezer" / cgroup_top(cluster.run_id) / node):
        for pid in (Path(directory) / "cgroup.procs").read_text().split():
            try:
                if b"delayer.py" in Path(f"/proc/{pid}/cmdline").read_bytes():
                    found.append(int(pid))
            except FileNotFoundError:
                pass
    return found


def test_five_ms_between_zones_is_measured_in_the_pods_and_removed(cluster):
    node1, node2 = cluster.node("node1"), cluster.node("node2")
    base = probe_connect(node2, node1.address, count=20)
    with between_zones(cluster, rtt_ms=5, timeout=60) as fault:
        seen = probe_connect(node2, node1.address, count=40)
        assert 4.5 <= seen.median_ms <= 12.0, seen
        assert len(delayers(cluster, "node1")) == 1
    assert fault.effect["requested_rtt_ms"] == 5.0 and fault.effect["measured_median_ms"] >= 4.5
    after = probe_connect(node2, node1.address, count=20)
    assert after.median_ms < base.median_ms + 1.0, (base, after)  # negative control: the delay is gone
    assert delayers(cluster, "node1") == []


def test_a_client_pods_own_network_is_delayed(cluster):
    client, node1 = cluster.clients[0], cluster.node("node1")
    with Latency(cluster, hosts=[client.name], to=["node1"], delay_ms=5, timeout=60):
        seen = probe_connect(client, node1.address, count=40)
        assert 4.5 <= seen.median_ms <= 12.0, seen
        assert len(delayers(cluster, client.node)) == 1
    assert probe_connect(client, node1.address, count=20).median_ms < 4.5
    assert delayers(cluster, client.node) == []
