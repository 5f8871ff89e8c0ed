"""The gluster stack through the Kubernetes API of a k8s-local cluster: glusterd DaemonSet with the
image `make k8s` built, peers by node name, a replica-3 volume, and a FUSE mount in a client pod
whose writes land on the bricks of every node."""
from __future__ import annotations

import time

from harness.providers import make_provider
from harness.providers.local import DEFAULT_ROOT
from harness.providers.host.teardown import leftovers
from harness.volume import VolumeSpec, VolumeType, create_volume

from .conftest import k8s_built

pytestmark = k8s_built

WARM_TARGET_S = 90.0


def bricks_holding(cluster, volume, name: str, content: str) -> list[str]:
    """Nodes whose brick of `volume` holds file `name` with `content`, read on the node itself."""
    found = []
    for brick in cluster.nodes[0].gluster.volume_info(volume.name)[0].bricks:
        host, path = brick.name.split(":", 1)
        node = next(n for n in cluster.nodes if host in (n.name, n.address))
        result = node.run(["cat", f"{path}/{name}"], check=False)
        if result.ok and result.stdout == content:
            found.append(node.name)
    return sorted(found)


def test_replica3_volume_mounted_in_a_pod_writes_to_every_nodes_brick():
    start = time.monotonic()
    cluster = make_provider("k8s-local", nodes=3, zones=3, clients=1, root=DEFAULT_ROOT).up()
    try:
        volume = create_volume(cluster, VolumeSpec(VolumeType.REPLICA3))
        mount = cluster.mount(volume)
        elapsed = time.monotonic() - start
        node_names = sorted(n.name for n in cluster.nodes)
        for node in cluster.nodes:  # probed by stable name, not by address
            assert sorted(p.hostname for p in node.gluster.peer_status()) == sorted(set(node_names) - {node.name})
            assert node.run(["glusterfsd", "--version"]).stdout.startswith("glusterfs 10.3")
        cluster.clients[0].run(["sh", "-c", f"printf written-by-pod > {mount.path}/f1"])
        assert bricks_holding(cluster, volume, "f1", "written-by-pod") == node_names
        # Negative control: a file never written is found on no brick.
        assert bricks_holding(cluster, volume, "never-written", "written-by-pod") == []
        print(f"cluster + gluster stack + replica-3 volume + mount: {elapsed:.1f} s")
        assert elapsed < WARM_TARGET_S
    finally:
        cluster.down()
    assert leftovers(cluster.run_id, cluster.root) == []
