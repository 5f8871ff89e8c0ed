"""Rolling upgrade pre-flight on real clusters (issue 26 item 2): each refused step is refused
before any node stops (every glusterd still running, at its original version), with the reason
named; a glusterd that cannot start is reported in its own log's words."""
from __future__ import annotations

import pytest

from harness.gluster import versions
from harness.errors import GlusterdStartFailed
from harness.gluster.glusterd_log import running_version
from harness.gluster.opversion import op_versions
from harness.providers.local import LocalProvider
from harness.upgrade import RollingUpgrade, stop_node
from harness.upgrade_preflight import UpgradeRefused
from harness.volume import VolumeSpec, VolumeType, create_volume

INSTALLED = versions.installed_version()
TARGET = "11.1"

pytestmark = pytest.mark.skipif(not versions.is_fetched(TARGET), reason=f"GlusterFS {TARGET} is not fetched")


def own_cluster(version: str | None):
    cluster = LocalProvider(nodes=3, zones=3, clients=1, versions=version).up()
    try:
        yield cluster
    finally:
        cluster.down()


@pytest.fixture(scope="module")
def cluster10():
    yield from own_cluster(None)


@pytest.fixture(scope="module")
def cluster11():
    yield from own_cluster(TARGET)


def running(cluster) -> dict:
    """Per node: glusterd pid, the version it is set to, and the version its glusterd logged."""
    return {n.name: (n.glusterd_pid(), n.version, running_version(n)) for n in cluster.nodes}


def refused(cluster, version: str, **kw) -> UpgradeRefused:
    before = running(cluster)
    assert all(pid for pid, _, _ in before.values())
    with pytest.raises(UpgradeRefused) as caught:
        with RollingUpgrade(cluster, version, timeout=60, **kw) as upgrade:
            pass
    assert running(cluster) == before, "a refused upgrade stopped or changed a node"
    events = [e for e in upgrade_events(cluster) if e.phase == "refused"]
    assert events and events[-1].details["reasons"] == caught.value.reasons
    return caught.value


def upgrade_events(cluster):
    from harness.faults.base import default_timeline

    return [e for e in default_timeline(cluster).events if e.kind == RollingUpgrade.kind]


def test_a_roll_back_below_the_raised_op_version_is_refused_naming_both_numbers(cluster11):
    create_volume(cluster11, VolumeSpec(VolumeType.REPLICA3, {}))
    assert op_versions(cluster11.nodes[0])[0] == 110000  # a pool of 11.1 only runs at its op-version
    error = refused(cluster11, INSTALLED)
    assert "110000" in str(error) and "100000" in str(error) and INSTALLED in str(error)


def test_a_glusterd_that_cannot_start_is_reported_in_its_own_logs_words(cluster11):
    node = cluster11.nodes[2]
    stop_node(node, timeout=60)
    node.set_version(INSTALLED)
    try:
        with pytest.raises(GlusterdStartFailed) as caught:
            node.start_glusterd()
        assert "wrong op-version (110000) retrieved" in str(caught.value)
        assert "Failed to restore op_version" in str(caught.value)
    finally:
        node.set_version(TARGET)
        node.start_glusterd()


def test_a_disperse_volume_is_refused_unless_allowed(cluster10):
    volume = create_volume(cluster10, VolumeSpec(VolumeType.DISPERSE, {}))
    try:
        error = refused(cluster10, TARGET, nodes=("node1",))
        assert f"volume {volume.name} is Disperse" in str(error) and "Offline upgrade" in str(error)
    finally:
        volume.delete()


def test_pending_heal_is_refused_naming_volume_and_counts(cluster10):
    volume = create_volume(cluster10, VolumeSpec(VolumeType.REPLICA3, {"cluster.self-heal-daemon": "off"}))
    mount = cluster10.mount(volume, cluster10.clients[0])
    try:
        brick = volume.bricks[2]
        pid = volume.status().brick(brick.name).pid
        brick.node.run(["kill", "-KILL", str(pid)], timeout=30)
        for i in range(3):
            (mount.path / f"f{i}").write_text("written while a brick is down")
        volume.start(force=True)
        volume.wait_bricks_online(timeout=60)
        assert volume.heal_summary().total_pending
        error = refused(cluster10, TARGET, nodes=("node1",))
        assert f"volume {volume.name} is not healed" in str(error) and "pending=" in str(error)
    finally:
        cluster10.unmount(mount)
        volume.delete()


def test_losing_quorum_with_the_node_down_is_refused(cluster10):
    volume = create_volume(cluster10, VolumeSpec(VolumeType.REPLICA2, {"cluster.quorum-type": "auto"}))
    try:
        first = volume.bricks[0].node.name  # replica 2, quorum auto: the first brick alone decides
        error = refused(cluster10, TARGET, nodes=(first,))
        assert f"volume {volume.name} set 0 would lose quorum" in str(error)
    finally:
        volume.delete()


def test_a_refusal_before_the_second_node_leaves_the_first_upgraded_and_says_revert_partial(cluster10):
    volume = create_volume(cluster10, VolumeSpec(VolumeType.REPLICA2, {"cluster.quorum-type": "auto"}))
    first = volume.bricks[0].node.name  # replica 2, quorum auto: this node's step would lose quorum
    other = volume.bricks[1].node.name
    after_first_step = {}
    try:
        with pytest.raises(UpgradeRefused) as caught:
            with RollingUpgrade(cluster10, TARGET, volumes=[volume], nodes=(other, first), timeout=60,
                                workarounds=("4016",),
                                on_step=lambda node, step: after_first_step.update(running(cluster10))):
                pass
        assert caught.value.node == first
        assert f"volume {volume.name} set 0 would lose quorum with" in str(caught.value)
        assert after_first_step[other][1:] == (TARGET, TARGET)
        assert running(cluster10) == after_first_step, "the refused second step stopped or changed a node"
        phases = [(e.phase, e.targets) for e in upgrade_events(cluster10)[-6:]]
        assert ("step", (other,)) in phases and ("refused", (first,)) in phases
        last = upgrade_events(cluster10)[-1]
        assert last.phase == "revert-partial", f"a mixed-version cluster was reported as {last.phase}"
        assert "mixed-version cluster" in last.details["left"]
        assert last.details["versions"][other] == TARGET and last.details["versions"][first] == INSTALLED
    finally:
        if cluster10.node(other).version != INSTALLED:
            with RollingUpgrade(cluster10, INSTALLED, volumes=[volume], nodes=(other,), timeout=60,
                                workarounds=("4016",)):
                pass
        volume.delete()
