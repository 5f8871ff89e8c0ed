"""Qualification smoke: the cluster is whole and a replica-3 volume keeps what is written to it."""
from __future__ import annotations

import hashlib
import os

import pytest

from harness import Capability


@pytest.mark.requires(Capability.HOST_FUSE)  # reads and writes the mount from this process
def test_replica3_volume_round_trips_data(gluster_cluster, replica3_mount):
    assert len(gluster_cluster.zones) == len(gluster_cluster.nodes) == 3
    data = os.urandom(1 << 20)
    (replica3_mount / "blob").write_bytes(data)
    assert hashlib.sha256((replica3_mount / "blob").read_bytes()).hexdigest() == hashlib.sha256(data).hexdigest()
    volume = replica3_mount.volume
    for brick in volume.bricks:
        backend = brick.node.run(["sha256sum", f"{brick.path}/blob"]).stdout.split()[0]
        assert backend == hashlib.sha256(data).hexdigest(), f"brick {brick.name} holds different data"
