"""Pure parts of the fault library: partition plans, probe pairs, nft scripts, statistics."""
from __future__ import annotations

import pytest

from harness.errors import ConfigError
from harness.faults import KINDS, discover
from harness.faults.netfilter import ruleset, table_name
from harness.faults.network import HostRules, plan_partition, probe_pairs
from harness.faults.probe import ProbeResult

ADDR = {"node1": "10.0.0.1", "node2": "10.0.0.2", "node3": "10.0.0.3", "client1": "10.0.0.101"}


@pytest.mark.parametrize("groups, one_way, expected", [
    ([["node1"], ["node2", "node3"]], False, {
        "node1": HostRules(("10.0.0.2", "10.0.0.3"), ("10.0.0.2", "10.0.0.3")),
        "node2": HostRules(("10.0.0.1",), ("10.0.0.1",)),
        "node3": HostRules(("10.0.0.1",), ("10.0.0.1",)),
    }),
    ([["node1", "client1"], ["node2"], ["node3"]], False, {
        "node1": HostRules(("10.0.0.2", "10.0.0.3"), ("10.0.0.2", "10.0.0.3")),
        "client1": HostRules(("10.0.0.2", "10.0.0.3"), ("10.0.0.2", "10.0.0.3")),
        "node2": HostRules(("10.0.0.1", "10.0.0.101", "10.0.0.3"), ("10.0.0.1", "10.0.0.101", "10.0.0.3")),
        "node3": HostRules(("10.0.0.1", "10.0.0.101", "10.0.0.2"), ("10.0.0.1", "10.0.0.101", "10.0.0.2")),
    }),
    # one way: node1 cannot send to node2; node2's packets still reach node1
    ([["node1"], ["node2"]], True, {
        "node1": HostRules((), ("10.0.0.2",)),
        "node2": HostRules(("10.0.0.1",), ()),
    }),
])
def test_partition_plan(groups, one_way, expected):
    assert plan_partition(groups, ADDR, one_way) == expected


@pytest.mark.parametrize("groups, one_way, message", [
    ([["node1"]], False, "at least 2 groups"),
    ([["node1"], []], False, "group 1 is empty"),
    ([["node1", "node2"], ["node2", "node3"]], False, "must not overlap"),
    ([["node1"], ["node9"]], False, "unknown host 'node9'"),
    ([["node1"], ["node2"], ["node3"]], True, "exactly 2 groups"),
])
def test_bad_partitions_are_config_errors(groups, one_way, message):
    with pytest.raises(ConfigError, match=message):
        plan_partition(groups, ADDR, one_way)


def test_probe_pairs_need_a_listener_on_the_far_side():
    groups = [["client1"], ["node2", "node3"]]
    assert probe_pairs(groups, {"node2", "node3"}, one_way=False) == [("client1", "node2")]
    assert probe_pairs([["node1"], ["node2"]], {"node1", "node2"}, one_way=True) == [("node1", "node2")]


def test_nft_names_and_script():
    assert table_name("glh3-f123-4") == "glh3_f123_4"
    script = ruleset("t", ["ip saddr { 1.2.3.4 } counter drop"], [])
    assert "table inet t {" in script and "hook input priority -10" in script and "hook output" in script
    assert "ip saddr { 1.2.3.4 } counter drop" in script


def test_probe_statistics():
    r = ProbeResult("a", "b:1", tuple(float(x) for x in range(1, 101)), timeouts=25)
    assert r.median_ms == 50.5 and r.percentile_ms(99) == 99.0 and r.loss == 0.2 and not r.blocked
    assert ProbeResult("a", "b:1", (), 3).blocked


def test_catalog_lists_every_kind_once():
    kinds = [d["kind"] for d in discover()]
    assert len(kinds) == len(set(kinds)) == len(KINDS) >= 15
