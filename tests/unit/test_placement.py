"""Brick placement and cluster planning: pure functions, table-driven."""
import pytest

from harness.errors import ConfigError
from harness.providers.host.netplan import plan_cluster
from harness.volume import VolumeSpec, VolumeType, place_bricks


def nodes(*zones: str) -> list[tuple[str, str]]:
    return [(f"node{i + 1}", z) for i, z in enumerate(zones)]


@pytest.mark.parametrize(
    "cluster, kind, expected_sets",
    [
        (nodes("a", "b", "c"), VolumeType.REPLICA3, [["node1", "node2", "node3"]]),
        (nodes("a", "b", "c"), VolumeType.REPLICA2, [["node1", "node2"]]),
        (nodes("a", "b", "c"), VolumeType.ARBITER, [["node1", "node2", "node3"]]),
        (nodes("a", "b", "c"), VolumeType.DISPERSE, [["node1", "node2", "node3"]]),
        (nodes("a", "b", "c"), VolumeType.DISTRIBUTED_REPLICATE,
         [["node1", "node2", "node3"], ["node1", "node2", "node3"]]),
        # 6 nodes in 3 zones (a b c a b c): each set spans three zones and no node is used twice.
        (nodes("a", "b", "c", "a", "b", "c"), VolumeType.DISTRIBUTED_REPLICATE,
         [["node1", "node2", "node3"], ["node4", "node5", "node6"]]),
        # Zones listed unevenly: the second set still finds three distinct zones.
        (nodes("a", "a", "b", "c"), VolumeType.REPLICA3, [["node1", "node3", "node4"]]),
    ],
)
def test_every_set_spans_distinct_zones(cluster, kind, expected_sets):
    placement = place_bricks(cluster, VolumeSpec(kind))
    zone_of = dict(cluster)
    sets = {}
    for b in placement.bricks:
        sets.setdefault(b.set_index, []).append(b.node)
    assert list(sets.values()) == expected_sets
    for members in sets.values():
        assert len({zone_of[n] for n in members}) == len(members)
    assert placement.notes == ()


def test_fewer_zones_than_set_size_is_said_plainly():
    placement = place_bricks(nodes("a", "b", "a"), VolumeSpec(VolumeType.REPLICA3))
    assert len({b.node for b in placement.bricks}) == 3
    assert placement.notes and "spans only 2 zone(s)" in placement.notes[0]


def test_arbiter_is_last_brick_of_each_set():
    placement = place_bricks(nodes("a", "b", "c"), VolumeSpec(VolumeType.ARBITER))
    assert [b.is_arbiter for b in placement.bricks] == [False, False, True]


def test_replica_count_above_nodes_is_rejected():
    with pytest.raises(ConfigError, match="replica3 needs 3 nodes for one set, the cluster has 2"):
        place_bricks(nodes("a", "b"), VolumeSpec(VolumeType.REPLICA3))


def test_unknown_volume_type_is_rejected_with_the_known_ones():
    with pytest.raises(ConfigError, match="unknown volume type 'replica4'; known types: replica2, replica3"):
        VolumeSpec("replica4")


def test_disperse_needs_more_data_than_redundancy():
    with pytest.raises(ConfigError, match="disperse needs redundancy >= 1 and data > redundancy"):
        VolumeSpec(VolumeType.DISPERSE, disperse_data=1, redundancy=1)


def test_plan_gives_each_cluster_its_own_slash24_and_round_robin_zones():
    plan = plan_cluster(5, nodes=4, zones=3, clients=2)
    assert plan.subnet == "198.18.5.0/24"
    assert [(n.name, n.zone, n.address) for n in plan.nodes] == [
        ("node1", "zone-a", "198.18.5.11"), ("node2", "zone-b", "198.18.5.12"),
        ("node3", "zone-c", "198.18.5.13"), ("node4", "zone-a", "198.18.5.14"),
    ]
    assert [c.address for c in plan.clients] == ["198.18.5.101", "198.18.5.102"]
    assert plan.switch_namespace == "glh5-sw"
    assert plan_cluster(511, 1, 1, 0).subnet == "198.19.255.0/24"


@pytest.mark.parametrize(
    "shape, message",
    [
        ((2, 3, 1), "--gluster-zones 3 is more than --gluster-nodes 2"),
        ((0, 1, 1), "--gluster-nodes must be between 1 and"),
        ((3, 0, 1), "--gluster-zones must be at least 1"),
    ],
)
def test_bad_cluster_shapes_are_rejected(shape, message):
    with pytest.raises(ConfigError, match=message):
        plan_cluster(0, *shape)
