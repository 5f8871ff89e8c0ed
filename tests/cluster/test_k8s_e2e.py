"""End-to-end on real Kubernetes: a kind cluster (where `kind` and a running docker engine exist)
and, when GLUSTER_E2E_KUBECONFIG is set, an existing cluster that already runs gluster.

Elsewhere these tests skip and say why. On a workstation:
    pytest tests/test_k8s_e2e.py -v                       # kind (docker running, kind on PATH)
    GLUSTER_E2E_KUBECONFIG=~/.kube/config GLUSTER_E2E_CONTEXT=prod pytest tests/test_k8s_e2e.py -k existing
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from harness.errors import ConfigError
from harness.providers.k8s import manifests as m
from harness.faults.pod import DeleteGlusterPod, NodeContainerFault, peers_seen_from
from harness.faults.network import NetworkPartition
from harness.faults.node import ZoneOutage
from harness.providers.k8s.options import K8sOptions
from harness.providers.k8s.existing import ExistingProvider
from harness.providers.k8s.kind import KindProvider
from harness.runner import run
from harness.volume import VolumeSpec, VolumeType, create_volume


def kind_unavailable() -> str | None:
    """Why the kind end-to-end tests cannot run here, or None when they can."""
    kind = os.environ.get("GLUSTER_KIND_BINARY") or shutil.which("kind")
    if not kind:
        return "no `kind` binary on PATH (or GLUSTER_KIND_BINARY): install kind to run the kind end-to-end tests"
    if not shutil.which("docker"):
        return "no `docker` CLI: kind needs a container engine"
    engine = run(["docker", "info", "--format", "{{.ServerVersion}}"], timeout=20, check=False)
    if not engine.ok:
        return f"docker engine not running (`docker info` failed: {(engine.stderr or engine.stdout).strip()[:120]})"
    return None


KIND_REASON = kind_unavailable()
needs_kind = pytest.mark.skipif(KIND_REASON is not None, reason=KIND_REASON or "")
needs_existing = pytest.mark.skipif(
    not os.environ.get("GLUSTER_E2E_KUBECONFIG"),
    reason="set GLUSTER_E2E_KUBECONFIG (and GLUSTER_E2E_CONTEXT) to a cluster running gluster to run this",
)


@pytest.fixture(scope="module")
def kind_cluster(tmp_path_factory):
    options = K8sOptions(
        kind_binary=os.environ.get("GLUSTER_KIND_BINARY"), kind_node_image=os.environ.get("GLUSTER_KIND_NODE_IMAGE"),
        kind_cluster_name=os.environ.get("GLUSTER_KIND_CLUSTER", "glh-e2e"),
        gluster_image=os.environ.get("GLUSTER_IMAGE", m.DEFAULT_GLUSTER_IMAGE),
    )
    root = Path(os.environ.get("GLUSTER_E2E_ROOT") or tmp_path_factory.mktemp("kind-e2e"))
    cluster = KindProvider(nodes=3, zones=3, clients=1, root=root, options=options).up()
    try:
        yield cluster
    finally:
        if os.environ.get("GLUSTER_KEEP_CLUSTER") in ("1", "true", "yes"):
            cluster.keep()
        else:
            cluster.down()


@needs_kind
@pytest.mark.slow
def test_kind_volume_mount_and_io_from_a_client_pod(kind_cluster):
    assert sorted(n.zone for n in kind_cluster.nodes) == ["zone-a", "zone-b", "zone-c"]
    volume = create_volume(kind_cluster, VolumeSpec(VolumeType.REPLICA3))
    try:
        mount = kind_cluster.mount(volume)
        client = kind_cluster.clients[0]
        client.run(["sh", "-c", f"echo e2e > {mount.path}/f"])
        assert client.run(["cat", f"{mount.path}/f"]).stdout == "e2e\n"
        for brick in volume.bricks:
            assert brick.node.run(["cat", f"{brick.path}/f"]).stdout == "e2e\n"
        kind_cluster.unmount(mount)
    finally:
        volume.delete()


@needs_kind
@pytest.mark.slow
def test_kind_faults_take_effect_and_revert(kind_cluster):
    a, b, c = (n.name for n in kind_cluster.nodes)
    with NetworkPartition(kind_cluster, [[a], [b, c]]) as fault:
        assert fault.effect["probes_blocked"]
    with DeleteGlusterPod(kind_cluster, a):
        pass
    for mode in ("crash", "hang"):
        with NodeContainerFault(kind_cluster, [c], mode=mode) as fault:
            assert kind_cluster.node_runtime.state(c) == ("exited" if mode == "crash" else "paused")
        assert not fault.active
    with ZoneOutage(kind_cluster, kind_cluster.node(b).zone):
        assert kind_cluster.node_runtime.state(b) == "exited"
    for node in kind_cluster.nodes:
        assert all(p.connected for p in peers_seen_from(kind_cluster, node.name).values())


@needs_existing
def test_existing_cluster_is_discovered_and_left_alone():
    options = K8sOptions(
        kubeconfig=os.environ["GLUSTER_E2E_KUBECONFIG"], kube_context=os.environ.get("GLUSTER_E2E_CONTEXT"),
        gluster_namespace=os.environ.get("GLUSTER_NAMESPACE", "glusterfs"),
        node_selector=os.environ.get("GLUSTER_NODE_SELECTOR", "storagenode=glusterfs"),
        pod_selector=os.environ.get("GLUSTER_POD_SELECTOR", "glusterfs=pod"),
    )
    cluster = ExistingProvider(clients=0, options=options).up()
    try:
        assert cluster.nodes and all(n.zone for n in cluster.nodes)
        before = {n.name: cluster.gluster_pod(n.name).uid for n in cluster.nodes}
        with pytest.raises(ConfigError, match="destructive faults are off"):
            DeleteGlusterPod(cluster, cluster.nodes[0].name).inject()
        assert {n.name: cluster.gluster_pod(n.name).uid for n in cluster.nodes} == before
    finally:
        cluster.down()
