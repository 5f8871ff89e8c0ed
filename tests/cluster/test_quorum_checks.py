"""Quorum checks against real states (issue 20 items 3 and 4), each with its negative control.

- check_management_refused: passes on a node that lost server quorum (SQ1 uses it); on a node that
  has it, the same operations are accepted or refused for another reason, and it must fail.
- check_client_quorum with an arbiter: a stale data brick plus the arbiter is not quorum (every
  operation answers ENOTCONN); the check used to count two children up and say "met".
"""
from __future__ import annotations

import pytest

from harness.checks import (
    check_access, check_client_quorum, check_management_refused, check_server_quorum, client_quorum_met,
    prepare_access_probe, probe_access,
)
from harness.checks.quorum import PROBE_OPTION, good_sources
from harness.faults.process import KillBrick
from harness.results import all_passed
from harness.volume import VolumeType

NO_HEAL = {"cluster.self-heal-daemon": "off", "cluster.data-self-heal": "off",
           "cluster.metadata-self-heal": "off", "cluster.entry-self-heal": "off"}


@pytest.mark.parametrize(
    "child_up, pending, arbiter, met",
    [
        # A (child 0) stale: the arbiter blames it; B down. AFR: ENOTCONN.
        ([True, False, True], [{}, None, {0: True}], 2, False),
        # Same bricks up, nothing pending: A is a good copy.
        ([True, False, True], [{}, None, {}], 2, True),
        # B up and good, A stale, arbiter down: B serves.
        ([True, True, False], [{}, {0: True}, None], 2, True),
        # A blames the arbiter, nothing blames A: A is a good data copy.
        ([True, False, True], [{2: True}, None, {}], 2, True),
        # Both data bricks blamed by the arbiter: only the arbiter is a source.
        ([True, True, True], [{}, {}, {0: True, 1: True}], 2, False),
    ],
)
def test_arbiter_needs_a_good_data_child(child_up, pending, arbiter, met):
    sources = good_sources(child_up, pending)
    assert client_quorum_met(child_up, "auto", 0, arbiter, sources) is met
    assert client_quorum_met(child_up, "auto") is True  # the count alone: two of three up


def test_stale_data_brick_and_arbiter_are_not_quorum(gluster_cluster, volume_factory, mount_factory, profile):
    """A written while down, back without heal, then B down: only stale A and the arbiter are up."""
    volume = volume_factory(VolumeType.ARBITER, {**NO_HEAL, "cluster.quorum-type": "auto"})
    mount = mount_factory(volume)
    prepare_access_probe(mount)
    with KillBrick(gluster_cluster, volume, [0], mounts=[mount], timeout=profile.fault_timeout_s):
        written = check_access(probe_access(mount, ["write", "create"]), {"write": "ok", "create": "ok"})
    assert written.passed, written.explain()
    with KillBrick(gluster_cluster, volume, [1], mounts=[mount], timeout=profile.fault_timeout_s):
        ops = probe_access(mount, ["read", "write", "create"])
        quorum = check_client_quorum(mount, expect_met=False)
    assert ops.labels() == dict.fromkeys(("read", "write", "create"), "ENOTCONN"), ops.labels()
    (state,) = quorum.evidence["sets"]
    assert state["child_up"] == [True, False, True]
    assert client_quorum_met(state["child_up"], state["quorum_type"]) is True  # what the check said before
    assert quorum.passed is True and quorum.observed == "quorum lost", quorum.explain()


def test_arbiter_set_with_a_good_data_brick_is_quorum(gluster_cluster, volume_factory, mount_factory, profile):
    """The positive side (A1): data brick A down, B and the arbiter up and good: met, I/O works."""
    volume = volume_factory(VolumeType.ARBITER, {"cluster.quorum-type": "auto"})
    mount = mount_factory(volume)
    prepare_access_probe(mount)
    with KillBrick(gluster_cluster, volume, [0], mounts=[mount], timeout=profile.fault_timeout_s):
        ops = probe_access(mount, ["read", "write"])
        quorum = check_client_quorum(mount, expect_met=True)
    assert ops.labels() == {"read": "ok", "write": "ok"}
    assert quorum.passed is True, quorum.explain()


def test_management_refused_fails_while_server_quorum_holds(gluster_cluster, volume_factory):
    """Negative control: every glusterd up, so nothing is refused for quorum; nothing may change."""
    volume = volume_factory(VolumeType.REPLICA3, {"cluster.server-quorum-type": "server"})
    node = gluster_cluster.nodes[0]
    before = volume.info()
    result = check_management_refused(volume, node)
    assert result.passed is False, result.explain()
    assert result.observed["volume set"] == "accepted"
    for op in ("add-brick", "replace-brick"):
        assert not any(o["accepted"] for o in result.evidence["outcomes"] if o["op"] == op)
        assert "Quorum not met" not in result.observed[op]
    after = volume.info()
    assert [b.name for b in after.bricks] == [b.name for b in before.bricks]
    assert PROBE_OPTION not in after.options


def test_server_quorum_checks_of_the_loss_and_the_return_stay_two_parts(gluster_cluster, volume_factory):
    """SQ1 composes "bricks stopped" during the fault with "bricks back" after it: named alike, the
    row kept one of them. With quorum held, the loss check must fail (negative control)."""
    volume = volume_factory(VolumeType.REPLICA3, {"cluster.server-quorum-type": "server"})
    node = gluster_cluster.nodes[0]
    held, lost = check_server_quorum(volume, node, True), check_server_quorum(volume, node, False)
    assert held.passed is True, held.explain()
    assert lost.passed is False, lost.explain()
    composed = all_passed([lost, held])
    assert list(composed.evidence) == [f"server quorum lost on {node.name}", f"server quorum held on {node.name}"]
    assert composed.passed is False
