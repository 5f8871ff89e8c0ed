"""A network partition on k8s-local: the same nft plan as on the local provider, applied in the
nodes' host network (their gluster pods) and in client pods, its effect measured from inside them."""
from __future__ import annotations


from harness.faults import NetworkPartition
from harness.faults.probe import probe_connect
from harness.health import peer_disconnected
from harness.volume import VolumeSpec, VolumeType, create_volume

from .conftest import k8s_built

pytestmark = k8s_built



def test_partition_of_a_node_and_a_client_pod_cuts_them_off_and_heals(cluster):
    volume = create_volume(cluster, VolumeSpec(VolumeType.REPLICA3))
    assert volume.name.startswith(f"{cluster.run_id}-")  # never a neighbour's name on a shared pool
    majority_client, minority_client = cluster.clients[:2]
    mounts = [cluster.mount(volume, majority_client), cluster.mount(volume, minority_client)]
    node1, _, node3 = cluster.nodes
    groups = [[node3.name, minority_client.name], [node1.name, cluster.nodes[1].name, majority_client.name]]
    with NetworkPartition(cluster, groups, mounts=mounts, timeout=60) as fault:
        assert fault.effect["probes_blocked"]  # connects across the cut timed out, measured in the pods
        assert probe_connect(minority_client, node1.address).blocked
        # Inside one side nothing is cut.
        assert not probe_connect(minority_client, node3.address).blocked
    # Negative control for the probe the fault's confirmation rests on: the same connect crosses now.
    assert not probe_connect(minority_client, node1.address).blocked
    assert not peer_disconnected(node1, node3)
    for mount in mounts:
        assert mount.all_children_up()
        cluster.unmount(mount)
    volume.delete()
