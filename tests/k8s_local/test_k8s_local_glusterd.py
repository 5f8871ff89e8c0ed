"""glusterd killed and started again inside its pod on k8s-local (Capability.GLUSTERD_CONTROL, SQ1):
the container and the node's bricks keep running while glusterd is gone, and a start that fails
quotes glusterd's own log instead of timing out."""
from __future__ import annotations

import pytest

from harness.errors import GlusterdStartFailed
from harness.faults.hosted import kill
from harness.gluster.glusterd_log import GLUSTERD_LOG
from harness.report import allure
from harness.volume import VolumeSpec, VolumeType, create_volume
from harness.waiting import wait_for

from .conftest import k8s_built

pytestmark = k8s_built

GLUSTERD_INFO = "/var/lib/glusterd/glusterd.info"



def restarts(node) -> int:
    pod = node.cluster_ref.api.core.read_namespaced_pod(node.pod().name, node.pod().namespace)
    return sum(s.restart_count for s in pod.status.container_statuses)


def brick_pid(node, volume) -> int:
    status = node.gluster.volume_status(volume.name)
    return next(b.pid for b in status.bricks if b.hostname == node.address)


def test_killed_glusterd_leaves_its_pod_and_bricks_running_and_starts_again(cluster):
    volume = create_volume(cluster, VolumeSpec(VolumeType.REPLICA3))
    node, observer = cluster.nodes[-1], cluster.nodes[0]
    brick, before = brick_pid(node, volume), restarts(node)
    proc = kill(node, node.glusterd_pid())
    wait_for(proc.reaped, timeout=30, what="the killed glusterd to be reaped")
    assert node.glusterd_pid() is None
    assert node.run(["kill", "-0", str(brick)], check=False).ok, "the brick died with glusterd"
    assert restarts(node) == before, "the container restarted: glusterd was its main process"
    node.start_glusterd()
    assert node.glusterd_pid() not in (None, proc.pid)
    assert brick_pid(node, volume) == brick  # the new glusterd adopted the running brick
    assert all(b.online for b in observer.gluster.volume_status(volume.name).bricks)
    volume.delete()


def test_a_glusterd_that_cannot_start_is_reported_with_its_log(cluster):
    node = cluster.nodes[-1]
    saved = next(line for line in node.run(["cat", GLUSTERD_INFO]).stdout.splitlines()
                 if line.startswith("operating-version="))
    proc = kill(node, node.glusterd_pid())
    wait_for(proc.reaped, timeout=30, what="the killed glusterd to be reaped")
    node.run(["sed", "-i", "s/^operating-version=.*/operating-version=999999/", GLUSTERD_INFO])
    try:
        with pytest.raises(GlusterdStartFailed) as caught:
            node.start_glusterd()
        assert "wrong op-version (999999) retrieved" in str(caught.value)
        assert GLUSTERD_LOG in str(caught.value)
    finally:
        node.run(["sed", "-i", f"s/^operating-version=.*/{saved}/", GLUSTERD_INFO])  # exec sends no stdin EOF
    node.start_glusterd()
    assert node.glusterd_pid() is not None


def test_a_failed_tests_node_logs_are_read_inside_the_pods(cluster):
    """What the report keeps of a failed test: each node's gluster logs, read in its pod (none are on
    this host), cut to their end."""
    volume = create_volume(cluster, VolumeSpec(VolumeType.REPLICA3))
    kept = {a.name: a.body for a in allure.node_logs(cluster)}
    for node in cluster.nodes:
        assert b"glusterd" in kept[f"{node.name}: glusterd.log"]
        assert any(name.startswith(f"{node.name}: bricks/") and volume.name in name for name in kept), sorted(kept)
    tails = cluster.nodes[0].log_tails(100)
    assert tails and all(0 < len(body) <= 100 for body in tails.values())  # the end only
    volume.delete()
