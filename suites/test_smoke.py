"""Qualification smoke: the cluster is whole and a replica-3 volume keeps what is written to it.

The client host writes and reads (in a client pod on Kubernetes), so the smoke runs on every provider."""
from __future__ import annotations

import hashlib
import random
import secrets

BLOB_BYTES = 1 << 20
# The client makes the data from a seed (a pod's exec gives stdin no end, and argv cannot carry 1 MB);
# random.Random(seed).randbytes is the same bytes in every Python >= 3.9. fsync: the bricks hold it
# when the write returns.
WRITE = "import os, random, sys; fd = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT | os.O_TRUNC); " \
        "os.write(fd, random.Random(int(sys.argv[2])).randbytes(int(sys.argv[3]))); os.fsync(fd); os.close(fd)"


def test_replica3_volume_round_trips_data(gluster_cluster, replica3_mount):
    assert len(gluster_cluster.zones) == len(gluster_cluster.nodes) == 3
    seed = secrets.randbits(64)
    digest = hashlib.sha256(random.Random(seed).randbytes(BLOB_BYTES)).hexdigest()
    client, blob = replica3_mount.client, f"{replica3_mount.path}/blob"
    client.run(["python3", "-c", WRITE, blob, str(seed), str(BLOB_BYTES)])
    assert client.run(["sha256sum", blob]).stdout.split()[0] == digest, "the client reads back different data"
    volume = replica3_mount.volume
    for brick in volume.bricks:
        backend = brick.node.run(["sha256sum", f"{brick.path}/blob"]).stdout.split()[0]
        assert backend == digest, f"brick {brick.name} holds different data"
