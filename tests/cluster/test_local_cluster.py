"""The embedded local cluster, for real: glusterd per node, volumes of every type, FUSE mounts."""
from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from harness.cluster import HOSTNAME_LABEL, ZONE_LABEL
from harness.providers.host.netns import GSYNCD_PATHS
from harness.providers.host.proc import procs
from harness.providers.local import LocalProvider
from harness.providers.host.teardown import leftovers
from harness.volume import VolumeSpec, VolumeType, create_volume


def test_nodes_carry_kubernetes_labels_and_see_every_peer_connected(gluster_cluster):
    assert [n.labels[ZONE_LABEL] for n in gluster_cluster.nodes] == ["zone-a", "zone-b", "zone-c"]
    assert [n.labels[HOSTNAME_LABEL] for n in gluster_cluster.nodes] == ["node1", "node2", "node3"]
    for node in gluster_cluster.nodes:
        peers = node.gluster.peer_status()
        assert sorted(p.hostname for p in peers) == sorted(o.address for o in gluster_cluster.nodes if o is not node)
        assert all(p.connected for p in peers)


def test_no_namespace_has_a_default_route(gluster_cluster):
    for host in [*gluster_cluster.nodes, *gluster_cluster.clients]:
        routes = host.run(["ip", "route", "show"]).stdout
        assert "default" not in routes, f"{host.name} has a default route: {routes}"
        assert all(r.startswith("198.18.") for r in routes.splitlines()), routes


def test_nodes_run_without_geo_replication_and_the_host_keeps_its_gsyncd(gluster_cluster):
    host_gsyncd = [p for p in GSYNCD_PATHS if Path(p).exists()]
    for node in gluster_cluster.nodes:
        log = (node.dir / "log" / "glusterd.log").read_text()
        assert "geo-replication module not installed" in log, f"{node.name}'s glusterd ran gsyncd at start"
        for path in host_gsyncd:
            assert node.run(["head", "-c", "2", path]).stdout == "#!", f"{path} in {node.name} is not the stub"
    for path in host_gsyncd:  # the stub is bound only inside the nodes' private mount namespaces
        assert Path(path).read_bytes()[:4] == b"\x7fELF", f"{path} on the host was changed"


@pytest.mark.parametrize("kind", list(VolumeType), ids=lambda t: t.value)
def test_each_volume_type_is_created_mounted_written_and_read(gluster_cluster, volume_factory, mount_factory, kind):
    volume = volume_factory(kind)
    info = volume.info()
    assert info.status == "Started" and info.brick_count == volume.spec.brick_count
    zone_of = {n.address: n.zone for n in gluster_cluster.nodes}
    for replica_set in volume.replica_sets():
        zones = [zone_of[b.node.address] for b in replica_set]
        assert len(set(zones)) == len(zones), f"set spans zones {zones}"
    mount = mount_factory(volume)
    assert mount.all_children_up()
    payloads = {f"file{i}": os.urandom(64 * 1024 + i) for i in range(8)}
    for name, data in payloads.items():
        (mount / name).write_bytes(data)
    for name, data in payloads.items():
        assert hashlib.sha256((mount / name).read_bytes()).digest() == hashlib.sha256(data).digest()
    # The data really lives on the bricks: each file is on some brick's backend.
    backend = {p.name for b in volume.bricks for p in Path(b.path).iterdir()}
    assert set(payloads) <= backend


def test_second_mount_from_another_client_sees_the_writes(gluster_cluster, volume_factory, mount_factory):
    volume = volume_factory(VolumeType.REPLICA3)
    first = mount_factory(volume, gluster_cluster.clients[0])
    second = mount_factory(volume, gluster_cluster.clients[1])
    (first / "shared").write_text("from client1")
    assert (second / "shared").read_text() == "from client1"


def test_teardown_leaves_no_namespace_process_mount_or_directory(nothing_left_behind):
    cluster = LocalProvider(nodes=2, zones=2, clients=1).up()
    try:
        volume = create_volume(cluster, VolumeSpec(VolumeType.REPLICA2))
        mount = cluster.mount(volume)
        (mount / "f").write_text("x")
        processes = procs([p for n in cluster.nodes for p in n.pids()] + [n.holder_pid for n in cluster.nodes]
                          + [mount.pid])
        assert len(processes) >= 2 + 2 + 2 + 1  # holders, glusterds, bricks, client
    finally:
        cluster.down()
    assert leftovers(cluster.run_id, cluster.root) == []
    assert [p for p in processes if p.alive()] == []
