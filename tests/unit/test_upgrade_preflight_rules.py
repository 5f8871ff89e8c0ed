"""The pre-flight's rules over observed values (no cluster), and the max op-version read from each
version's own glusterd against upstream's GD_OP_VERSION_MAX."""
from __future__ import annotations

import pytest

from harness.gluster import versions
from harness.gluster.xml import BrickInfo, HealBrickSummary, HealSummary, VolumeInfo
from harness.gluster.opversion import max_op_version
from harness.upgrade_preflight import heal_reason, op_version_reason, server_quorum_met, set_quorum_reasons


def info(kind: str, hosts: list[str], replica: int = 1, disperse: int = 0, redundancy: int = 0) -> VolumeInfo:
    bricks = tuple(BrickInfo(f"{h}:/b{i}", h, f"/b{i}", False) for i, h in enumerate(hosts))
    return VolumeInfo("v", "Started", kind, len(bricks), replica, 0, disperse, redundancy, bricks)


@pytest.mark.parametrize("volume,quorum_type,count,lost", [
    (info("Replicate", ["a", "b", "c"], replica=3), "auto", 0, False),
    (info("Replicate", ["a", "b"], replica=2), "auto", 0, True),  # exactly half, without the first
    (info("Replicate", ["b", "a"], replica=2), "auto", 0, False),  # exactly half, with the first
    (info("Replicate", ["a", "b", "c"], replica=3), "fixed", 3, True),
    (info("Replicate", ["a", "b"], replica=2), "none", 0, False),
    (info("Disperse", ["a", "b", "c"], disperse=3, redundancy=1), "", 0, False),
    (info("Disperse", ["a", "a", "b"], disperse=3, redundancy=1), "", 0, True),
    (info("Distribute", ["a", "b"]), "", 0, True),
])
def test_quorum_with_the_node_down(volume, quorum_type, count, lost):
    assert bool(set_quorum_reasons(volume, "a", quorum_type, count)) is lost


@pytest.mark.parametrize("active,total,ratio,met", [(2, 3, "", True), (1, 2, "", False), (2, 3, "95", False),
                                                    (3, 4, "51%", True), (2, 4, "", False)])
def test_server_quorum_rule(active, total, ratio, met):
    assert server_quorum_met(active, total, ratio) is met


def test_heal_counts_must_be_zero_and_known():
    def summary(*bricks):
        return HealSummary(tuple(HealBrickSummary(f"h:/b{i}", "Connected", p, s, 0) for i, (p, s) in enumerate(bricks)))

    assert heal_reason("v", summary((0, 0), (0, 0))) is None
    assert "h:/b1 pending=4 split-brain=0" in heal_reason("v", summary((0, 0), (4, 0)))
    assert "split-brain=1" in heal_reason("v", summary((0, 1), (0, 0)))
    assert "pending=-" in heal_reason("v", summary((None, None), (0, 0)))  # unknown is never 0


def test_op_version_rule_names_both_numbers():
    assert op_version_reason(100000, 110000, "11.1") is None
    reason = op_version_reason(110000, 100000, "10.3")
    assert "110000" in reason and "100000" in reason and "10.3" in reason


def test_max_op_version_read_from_each_versions_glusterd_matches_upstream():
    installed = versions.installed_version()
    assert max_op_version(installed) == versions.INSTALLED_OP_VERSION[installed]
    if versions.is_fetched("11.1"):
        assert max_op_version("11.1") == versions.RELEASES["11.1"].op_version
