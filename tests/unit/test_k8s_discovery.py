"""Discovery of storage nodes, zones and gluster pods by labels, against the FAKE API server."""
from __future__ import annotations

import pytest

from harness.errors import ConfigError
from harness.providers.k8s.client import connect
from harness.providers.k8s.discovery import check_selector, equality_labels, gluster_pods_by_node, running_pod, storage_nodes
from harness.providers.k8s.manifests import StackSettings, glusterd_daemonset, namespace
from harness.providers.k8s.stack import apply
from tests.fake_kube_api import FakeKubeApi, seed_gluster_nodes

NODES = [("w1", "198.18.9.11", "zone-a"), ("w2", "198.18.9.12", "zone-b"), ("w3", "198.18.9.13", "zone-c")]
ZONE = "topology.kubernetes.io/zone"


@pytest.fixture
def fake():
    with FakeKubeApi() as server:
        seed_gluster_nodes(server, NODES)
        yield server


@pytest.fixture
def api(fake, tmp_path):
    client = connect(fake.write_kubeconfig(tmp_path / "kc"), None)
    yield client
    client.close()


def test_storage_nodes_by_selector_with_zone_and_address(api):
    found = storage_nodes(api.core, "storagenode=glusterfs", ZONE, "the fake")
    assert [(n.name, n.address, n.zone) for n in found] == NODES
    assert all(n.ready for n in found)
    assert "control-plane" not in [n.name for n in found]


def test_selector_matching_no_node_lists_what_the_nodes_carry(api):
    with pytest.raises(ConfigError, match=r"'storagenode=ceph' matches no node in the fake \(4 node\(s\) there: "
                                          r"control-plane: .*--gluster-node-selector"):
        storage_nodes(api.core, "storagenode=ceph", ZONE, "the fake")


def test_storage_node_without_zone_label_is_named(api, fake):
    fake.add_node("w4", "198.18.9.14", {"storagenode": "glusterfs"})
    with pytest.raises(ConfigError, match=rf"storage node\(s\) w4 have no {ZONE} label"):
        storage_nodes(api.core, "storagenode=glusterfs", ZONE, "the fake")
    # another zone label option makes it valid again
    fake.add_node("w4", "198.18.9.14", {"storagenode": "glusterfs", "rack": "r1", ZONE: "zone-a"})
    assert len(storage_nodes(api.core, "storagenode=glusterfs", ZONE, "the fake")) == 4


def test_gluster_pods_found_per_node_and_missing_ones_named(api):
    with pytest.raises(ConfigError, match=r"no running gluster pod .* on storage node\(s\) w1, w2, w3"):
        gluster_pods_by_node(api.core, "glusterfs", "glusterfs=pod",
                             storage_nodes(api.core, "storagenode=glusterfs", ZONE, "x"), "the fake")
    settings = StackSettings("glh-t")
    apply(api, [namespace(settings), glusterd_daemonset(settings)])
    nodes = storage_nodes(api.core, "storagenode=glusterfs", ZONE, "x")
    pods = gluster_pods_by_node(api.core, "glusterfs", "glusterfs=pod", nodes, "the fake")
    assert sorted(pods) == ["w1", "w2", "w3"]
    assert all(p.ip == dict((n, a) for n, a, _ in NODES)[node] for node, p in pods.items())  # host network
    assert running_pod(api.core, "glusterfs", "glusterfs=pod", "w2").name == pods["w2"].name
    assert running_pod(api.core, "glusterfs", "glusterfs=other", "w2") is None


@pytest.mark.parametrize("bad", ["", "  ", "a=b=c", "=b", "a=b,,c=d", "a b=c", "key=val ue"])
def test_malformed_selectors_are_config_errors(bad):
    with pytest.raises(ConfigError, match="--gluster-node-selector .* is not a label selector"):
        check_selector(bad, "--gluster-node-selector")


def test_equality_labels_for_node_selectors():
    assert equality_labels("storagenode=glusterfs, tier==ssd", "--x") == {"storagenode": "glusterfs", "tier": "ssd"}
    with pytest.raises(ConfigError, match="must be key=value pairs only"):
        equality_labels("storagenode!=ceph", "--x")
    assert check_selector("example.com/role=storage,!cordoned", "--x") == "example.com/role=storage,!cordoned"
