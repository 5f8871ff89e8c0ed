"""Brick faults with cluster.brick-multiplex on: one glusterfsd per node serves the bricks of every
volume, so killing it takes down bricks of volumes the fault was not asked about. The faults must
name those bricks, confirm them down, and bring them all back before a revert reports success.

These tests run on a cluster of their own: the option is cluster-wide and would change the brick
processes of every other test sharing the session's cluster."""
from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

from harness.chaos import actions
from harness.chaos.target import RUN_ID_KEY, VOLUME_KEY, target
from harness.faults import BrickLoss, KillBrick, NodeCrash, RestartPod, inject_fault, revert_fault
from harness.faults.base import default_timeline, revert_active_faults
from harness.providers.local import LocalProvider
from harness.storm import set_multiplex
from harness.timeline import Phase
from harness.volume import VolumeSpec, VolumeType, create_volume

from ..conftest import REPO
from ..faults_helpers import write_sync


@pytest.fixture(scope="module")
def mux_cluster():
    cluster = LocalProvider(nodes=3, zones=3, clients=1).up()
    try:
        set_multiplex(cluster.gluster, True)
        yield cluster
    finally:
        revert_active_faults(cluster)
        cluster.down()


@pytest.fixture
def two_volumes(mux_cluster, profile):
    """Volumes A (mounted on client1) and B (not mounted) whose node2 bricks share one process."""
    spec = VolumeSpec(VolumeType.REPLICA3, profile.volume_options)
    made, mounts = [], []
    try:
        made.append(create_volume(mux_cluster, spec, "mux-a"))
        made.append(create_volume(mux_cluster, spec, "mux-b"))
        mounts.append(mux_cluster.mount(made[0], mux_cluster.clients[0]))
        yield made[0], made[1], mounts[0]
    finally:
        revert_active_faults(mux_cluster)  # before the mounts go: a revert confirms their children
        for mount in mounts:
            mux_cluster.unmount(mount)
        for volume in reversed(made):
            volume.delete()


def node2_bricks(cluster, a, b):
    node2 = cluster.node("node2")
    brick_a, brick_b = a.bricks_on(node2)[0], b.bricks_on(node2)[0]
    pid_a = a.status(cluster.node("node1")).brick(brick_a.name).pid
    pid_b = b.status(cluster.node("node1")).brick(brick_b.name).pid
    assert pid_a is not None and pid_a == pid_b, f"not multiplexed: {brick_a.name}={pid_a}, {brick_b.name}={pid_b}"
    return brick_a, brick_b


def online(volume, brick, via) -> bool:
    row = volume.status(via).brick(brick.name)
    return bool(row and row.online)


def test_kill_brick_names_confirms_and_reverts_every_brick_of_the_killed_process(mux_cluster, two_volumes):
    a, b, mount_a = two_volumes
    node1 = mux_cluster.node("node1")
    brick_a, brick_b = node2_bricks(mux_cluster, a, b)
    fault = KillBrick(mux_cluster, a, [brick_a.index], mounts=[mount_a])  # given only A's mount
    with fault:
        targets = fault.targets()
        down = (online(a, brick_a, node1), online(b, brick_b, node1))
        write_sync(mount_a / "during")
    # Checked first: the old revert started only A and reported success with B's brick offline.
    assert online(b, brick_b, node1), f"volume {b.name}'s brick {brick_b.name} is offline after the revert"
    assert online(a, brick_a, node1)
    assert down == (False, False)
    expected = {f"{a.name}:node2:{brick_a.path}", f"{b.name}:node2:{brick_b.path}"}
    assert set(targets) == expected
    events = {e.phase: e for e in default_timeline(mux_cluster).for_fault(fault.fault_id)}
    assert set(events[Phase.START.value].targets) == expected
    assert set(events[Phase.REVERTED.value].targets) == expected
    assert fault.effect["volumes"] == sorted([a.name, b.name]) and fault.effect["bricks_down"] == 2
    assert {"volume": b.name, "brick": brick_b.name} in fault.describe()["affected"]


REVERT_ELSEWHERE = """
    import json, sys
    from harness.providers.host import registry
    from harness.providers.local import LocalCluster
    from harness.faults import revert_fault
    cluster = LocalCluster.attach(registry.load(int(sys.argv[1])))
    print(json.dumps(revert_fault(cluster, json.loads(sys.stdin.read()))))
"""


def test_kill_brick_reverted_from_another_process_brings_back_every_volume(mux_cluster, two_volumes):
    """chaostoolkit rolls back from a fresh process, rebuilding the fault from its description."""
    a, b, _ = two_volumes
    node1 = mux_cluster.node("node1")
    brick_a, brick_b = node2_bricks(mux_cluster, a, b)
    description = inject_fault(mux_cluster, {"kind": "kill-brick", "volume": a.name, "bricks": [brick_a.index]})
    assert not online(b, brick_b, node1)
    out = subprocess.run([sys.executable, "-c", textwrap.dedent(REVERT_ELSEWHERE), str(mux_cluster.entry.index)],
                         input=json.dumps(description), capture_output=True, text=True, timeout=180, cwd=REPO)
    assert out.returncode == 0, out.stderr
    assert online(b, brick_b, node1), f"volume {b.name}'s brick {brick_b.name} is offline after the revert"
    assert online(a, brick_a, node1)
    assert {"volume": b.name, "brick": brick_b.name} in description["affected"]
    revert_fault(mux_cluster, description)  # the object this process holds reverts idempotently


def test_brick_loss_brings_back_the_other_volumes_of_the_killed_process(mux_cluster, two_volumes, profile):
    a, b, mount_a = two_volumes
    node1 = mux_cluster.node("node1")
    brick_a, brick_b = node2_bricks(mux_cluster, a, b)
    fault = BrickLoss(mux_cluster, a, brick_a.index, heal_timeout=profile.heal_timeout_s, mounts=[mount_a])
    with fault:
        targets = fault.targets()
        during = (online(a, brick_a, node1), online(b, brick_b, node1))
        write_sync(mount_a / "during-loss")
    assert online(b, brick_b, node1) and online(a, brick_a, node1)
    assert during == (False, True)  # the pod is back: only the wiped brick cannot start
    assert set(targets) == {f"{a.name}:node2:{brick_a.path}", f"{b.name}:node2:{brick_b.path}"}
    assert fault.recovered_with == "reset-brick"


def test_restart_pod_brings_back_every_multiplexed_volume(mux_cluster, two_volumes):
    a, b, mount_a = two_volumes
    node1, node2 = mux_cluster.node("node1"), mux_cluster.node("node2")
    brick_a, brick_b = node2_bricks(mux_cluster, a, b)
    with RestartPod(mux_cluster, "node2", volumes=[a, b], mounts=[mount_a]):
        assert online(a, brick_a, node2) and online(b, brick_b, node2)
    assert online(a, brick_a, node1) and online(b, brick_b, node1)
    node2_bricks(mux_cluster, a, b)  # the restarted glusterd multiplexed them again


FRESH_PROCESS_ROLLBACK = """
    import json, sys
    from harness.chaos import actions
    print(json.dumps(actions.revert_kill_brick(configuration=json.loads(sys.argv[1]))))
"""


def test_kill_brick_action_rolled_back_by_a_fresh_process_brings_back_every_volume(mux_cluster, two_volumes):
    """chaostoolkit's rollback may run in another process: it has only the label's record."""
    a, b, _ = two_volumes
    node1 = mux_cluster.node("node1")
    brick_a, brick_b = node2_bricks(mux_cluster, a, b)
    config = {RUN_ID_KEY: mux_cluster.run_id, VOLUME_KEY: a.name}
    try:
        result = actions.kill_brick(bricks=[brick_a.index], configuration=config)
        assert not online(b, brick_b, node1)
        out = subprocess.run([sys.executable, "-c", textwrap.dedent(FRESH_PROCESS_ROLLBACK), json.dumps(config)],
                             capture_output=True, text=True, timeout=180, cwd=REPO)
        assert out.returncode == 0, out.stderr
        assert json.loads(out.stdout.splitlines()[-1])["reverted"] is True
        assert online(b, brick_b, node1), f"volume {b.name}'s brick {brick_b.name} is offline after the rollback"
        assert online(a, brick_a, node1)
        assert {"volume": b.name, "brick": brick_b.name} in result["affected"]
    finally:
        revert_active_faults(target(config).cluster)  # the live object this process still holds


def test_node_crash_revert_confirms_every_brick_of_the_node(mux_cluster, two_volumes):
    """NodeCrash needs no per-volume start (the node's new glusterd starts every brick it hosts),
    but its revert must not report success before B, of which it has no mount, is back too."""
    a, b, mount_a = two_volumes
    node1, node2 = mux_cluster.node("node1"), mux_cluster.node("node2")
    brick_a, brick_b = node2_bricks(mux_cluster, a, b)
    with NodeCrash(mux_cluster, "node2", mounts=[mount_a]):
        assert node2.pids() == []
    assert online(b, brick_b, node1) and online(a, brick_a, node1)
    node2_bricks(mux_cluster, a, b)  # multiplexed again


def test_brick_loss_brings_back_a_brick_of_its_own_volume_that_shared_the_process(mux_cluster, profile):
    """Distributed-replicate on 3 nodes puts two bricks of one volume on each node: multiplexed,
    the wiped brick's process served its sibling too, which must be online after the revert."""
    volume = create_volume(mux_cluster, VolumeSpec(VolumeType.DISTRIBUTED_REPLICATE, profile.volume_options), "mux-dr")
    try:
        node1 = mux_cluster.node("node1")
        lost, sibling = volume.bricks_on(mux_cluster.node("node2"))
        status = volume.status(node1)
        assert status.brick(lost.name).pid == status.brick(sibling.name).pid, "not multiplexed"
        with BrickLoss(mux_cluster, volume, lost.index, heal_timeout=profile.heal_timeout_s) as fault:
            targets = fault.targets()
            during = (online(volume, lost, node1), online(volume, sibling, node1))
        assert online(volume, sibling, node1) and online(volume, lost, node1)
        assert during == (False, True)  # `start force` as the pod came back started the sibling
        assert set(targets) == {f"{volume.name}:node2:{lost.path}", f"{volume.name}:node2:{sibling.path}"}
    finally:
        revert_active_faults(mux_cluster)
        volume.delete()
