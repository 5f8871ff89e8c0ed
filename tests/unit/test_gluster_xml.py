"""Parsers on real `gluster --xml` outputs captured from GlusterFS 10.3 (tests/data/capture_gluster_xml.py)."""
import dataclasses
from pathlib import Path

import pytest

from harness.gluster import xml as gx
from harness.gluster.cli import GlusterCLI, GlusterError
from harness.health import self_heal_disconnected
from harness.runner import CommandResult

DATA = Path(__file__).parents[1] / "data" / "gluster-xml"


def root(name: str):
    return gx.parse_root((DATA / f"{name}.xml").read_text())


def test_peer_status_lists_both_peers_connected():
    peers = gx.parse_peer_status(root("peer-status"))
    assert [p.hostname for p in peers] == ["198.18.0.12", "198.18.0.13"]
    assert all(p.connected and p.state == "Peer in Cluster" for p in peers)


def test_volume_info_types_counts_and_arbiter_flag():
    volumes = {v.name: v for v in gx.parse_volume_info(root("volume-info-all"))}
    assert set(volumes) == {"r3", "arb", "ec", "dr"}
    assert (volumes["r3"].type, volumes["r3"].replica_count, volumes["r3"].brick_count) == ("Replicate", 3, 3)
    assert volumes["arb"].arbiter_count == 1
    assert [b.is_arbiter for b in volumes["arb"].bricks] == [False, False, True]
    assert (volumes["ec"].type, volumes["ec"].disperse_count, volumes["ec"].redundancy_count) == ("Disperse", 3, 1)
    assert (volumes["dr"].type, volumes["dr"].brick_count) == ("Distributed-Replicate", 6)
    assert volumes["r3"].bricks[0].host == "198.18.0.11"
    assert volumes["r3"].bricks[0].path.endswith("/node1/bricks/r3-b0")
    assert volumes["r3"].options["cluster.granular-entry-heal"] == "on"


def test_volume_status_bricks_and_daemons_apart():
    status = gx.parse_volume_status(root("volume-status-r3"))[0]
    assert status.name == "r3"
    assert len(status.bricks) == 3 and status.all_bricks_online
    assert all(b.pid and b.port for b in status.bricks)
    shd = status.self_heal_daemons()
    assert len(shd) == 3 and {d.host for d in shd} >= {"localhost"}


def test_volume_status_with_brick_down_has_no_pid_or_port():
    status = gx.parse_volume_status(root("volume-status-r3-brick-down"))[0]
    down = [b for b in status.bricks if not b.online]
    assert len(down) == 1 and down[0].hostname == "198.18.0.13"
    assert down[0].pid is None and down[0].port is None
    assert not status.all_bricks_online


def test_volume_clients_per_brick_by_address():
    clients = gx.parse_volume_clients(root("volume-status-r3-clients"))
    brick = "198.18.1.12:/var/tmp/glusterharness/glh1/node2/bricks/r3-b1"
    assert len(clients) == 3 and clients[brick] == {"198.18.1.11", "198.18.1.12", "198.18.1.13"}


def test_every_self_heal_daemon_connected_to_every_brick():
    status = gx.parse_volume_status(root("volume-status-r3-shd-starting"))[0]
    connected = gx.parse_volume_clients(root("volume-status-r3-clients"))
    assert self_heal_disconnected(status, connected, "198.18.1.11", {}) == []


def test_negative_control_a_daemon_still_reconnecting_is_named():
    # Captured right after `volume start`: node1's daemon had not yet reached node2's and node3's bricks.
    status = gx.parse_volume_status(root("volume-status-r3-shd-starting"))[0]
    starting = gx.parse_volume_clients(root("volume-status-r3-clients-starting"))
    assert self_heal_disconnected(status, starting, "198.18.1.11", {}) == [
        "self-heal daemon on 198.18.1.11 -> 198.18.1.12:/var/tmp/glusterharness/glh1/node2/bricks/r3-b1",
        "self-heal daemon on 198.18.1.11 -> 198.18.1.13:/var/tmp/glusterharness/glh1/node3/bricks/r3-b2"]


def test_negative_control_a_daemon_not_running_yet_is_named():
    # Found by qualification: after a zone outage node1's glusterd answered before it had started
    # node1's daemon, and `volume heal` failed with "Self-heal daemon is not running".
    status = gx.parse_volume_status(root("volume-status-r3-shd-starting"))[0]
    daemons = tuple(dataclasses.replace(d, online=False, pid=None) if d.host == "198.18.1.12" else d
                    for d in status.daemons)
    connected = gx.parse_volume_clients(root("volume-status-r3-clients"))
    assert self_heal_disconnected(dataclasses.replace(status, daemons=daemons), connected, "198.18.1.11", {}) == [
        "self-heal daemon on 198.18.1.12 not running"]
    unlisted = tuple(d for d in status.daemons if d.host != "198.18.1.12")
    assert self_heal_disconnected(dataclasses.replace(status, daemons=unlisted), connected, "198.18.1.11", {}) == [
        "self-heal daemon on 198.18.1.12 not running"]
    # cluster.self-heal-daemon off: no daemon runs, none is waited for (`heal split-brain` needs none).
    assert self_heal_disconnected(dataclasses.replace(status, daemons=()), connected, "198.18.1.11", {}) == []


def test_a_pool_probed_by_name_lists_daemons_by_node_name():
    # k8s-local and kind probe peers by node name: `volume status` lists the other nodes' daemons so,
    # while bricks and clients are addresses. Without the names' addresses every daemon looked absent.
    status = gx.parse_volume_status(root("volume-status-r3-shd-starting"))[0]
    names = {"198.18.1.12": "node2", "198.18.1.13": "node3"}
    by_name = tuple(dataclasses.replace(d, host=names.get(d.host, d.host)) for d in status.daemons)
    named = dataclasses.replace(status, daemons=by_name)
    connected = gx.parse_volume_clients(root("volume-status-r3-clients"))
    assert self_heal_disconnected(named, connected, "198.18.1.11", {v: k for k, v in names.items()}) == []
    assert "self-heal daemon on 198.18.1.12 not running" in self_heal_disconnected(named, connected, "198.18.1.11", {})


def test_heal_summary_all_up_sums_to_zero():
    summary = gx.parse_heal_summary(root("heal-summary-r3"))
    assert summary.total_pending == 0 and summary.total_split_brain == 0


def test_heal_summary_unreachable_brick_is_unknown_never_zero():
    summary = gx.parse_heal_summary(root("heal-summary-r3-brick-down"))
    down = summary.bricks[2]
    assert not down.reachable and down.pending is None and down.split_brain is None
    assert summary.total_pending is None
    assert summary.total_split_brain is None


def test_split_brain_listing_keeps_dash_as_unknown():
    bricks = gx.parse_heal_entries(root("heal-split-brain-r3-none"))
    assert [b.count for b in bricks] == [0, 0, None]
    assert all(b.entries == () for b in bricks)


def test_bad_xml_is_a_clear_error():
    with pytest.raises(gx.XMLShapeError, match="no valid XML"):
        gx.parse_root("Connection failed. Please check if gluster daemon is operational.")


class CannedHost:
    """Returns a fixed CLI output: lets GlusterCLI's error handling be tested on real captured XML."""

    name = "node1"

    def __init__(self, stdout: str, returncode: int) -> None:
        self.stdout, self.returncode = stdout, returncode

    def run(self, argv, *, timeout=60, input=None, check=True):
        return CommandResult(tuple(argv), self.returncode, self.stdout, "", 0.0)


def test_cli_error_carries_gluster_reason_and_node():
    host = CannedHost((DATA / "volume-create-error.xml").read_text(), 1)
    with pytest.raises(GlusterError, match=r"volume create r3 .*failed on node1: Volume r3 already exists"):
        GlusterCLI(host).xml("volume", "create", "r3")


def test_cli_without_xml_output_reports_stderr():
    with pytest.raises(GlusterError, match="daemon is operational"):
        GlusterCLI(CannedHost("Connection failed. Please check if gluster daemon is operational.", 1)).peer_status()
