"""The rolling-upgrade pieces that need no cluster: per-node version specs, the swap script a node
runs in its own mount namespace, info-file comparison, the versions-over-time report."""
from __future__ import annotations

import os
from pathlib import Path
from types import SimpleNamespace

import pytest

from harness.gluster import versions
from harness.errors import ConfigError, MissingPrerequisite
from harness.history import OpType
from harness.providers.local import parse_versions
from harness.report.versions_plot import plot_versions, versions_lines
from harness.upgrade_pool import info_differences, self_heal_pids
from harness.volume import VolumeType

INSTALLED = versions.installed_version()


def test_versions_default_to_the_installed_one_per_node():
    assert parse_versions(None, 3) == [INSTALLED] * 3
    assert parse_versions("11.1", 2) == ["11.1", "11.1"]
    assert parse_versions(f"{INSTALLED}, {INSTALLED},11.1", 3) == [INSTALLED, INSTALLED, "11.1"]


@pytest.mark.parametrize("spec,match", [("10.3,11.1", "names 2 versions for 3 nodes"), ("9.9", "'9.9' is not one"),
                                        ("11.1,,11.1", "names 3 versions")])
def test_bad_version_specs_are_refused_before_anything_changes(spec, match):
    with pytest.raises(ConfigError, match=match):
        parse_versions(spec, 3)


def test_a_version_not_fetched_says_how_to_fetch_it(tmp_path):
    with pytest.raises(MissingPrerequisite, match="fetch-version 11.1|make setup"):
        versions.require("11.1", cache=tmp_path)
    assert versions.require(INSTALLED, cache=tmp_path) is None  # nothing to swap for the installed one


def test_swap_script_binds_every_file_and_keeps_geo_replication_out(tmp_path):
    if not versions.is_fetched("11.1"):
        pytest.skip("GlusterFS 11.1 is not fetched (scripts/setup.sh fetches it)")
    root = versions.version_root("11.1")
    pairs = versions.bind_mounts("11.1", root)
    targets = [t for _, t in pairs]
    assert {"/usr/sbin/glusterfsd", "/usr/sbin/gluster", f"{versions.LIBDIR}/glusterfs"} <= set(targets)
    assert all(os.path.exists(s) and os.path.exists(t) for s, t in pairs), "a source or target is missing"
    absent = tmp_path / "gsyncd-absent"
    up = versions.swap_script(None, ("11.1", root), absent).splitlines()
    assert up[0] == "set -e" and up[-1] == f"mount --bind {absent} {versions.LIBDIR}/glusterfs/gsyncd"
    assert [line.split()[-1] for line in up[1:-1]] == targets
    down = versions.swap_script(("11.1", root), None, absent).splitlines()
    # The stand-in on top first, then the rest in reverse: each umount removes the topmost mount.
    assert down[1:] == [f"umount {versions.LIBDIR}/glusterfs/gsyncd", *(f"umount {t}" for t in reversed(targets))]


def test_info_differences_name_the_lines_a_node_has_alone():
    same = "type=2\nversion=3\n"
    assert info_differences({"a": same, "b": same}) == {}
    diff = info_differences({"a": same + "nfs.disable=on\n", "b": same, "c": same + "nfs.disable=on\n"})
    assert diff == {"a": ["nfs.disable=on"], "c": ["nfs.disable=on"]}


def test_versions_over_time_as_lines_and_a_plot(tmp_path: Path):
    timeline = [{"t": 0.0, "phase": "before", "versions": {"node1": "10.3", "node2": "10.3"}},
                {"t": 5.0, "phase": "after node1", "versions": {"node1": "11.1", "node2": "10.3"}},
                {"t": 9.0, "phase": "after node2", "versions": {"node1": "11.1", "node2": "11.1"}}]
    assert versions_lines(timeline)[1] == "00:00:05 after node1: node1 11.1, node2 10.3"
    ops = [SimpleNamespace(time=6.0, type=OpType.FAIL), SimpleNamespace(time=7.0, type=OpType.OK)]
    path = plot_versions(timeline, ops, tmp_path / "plots" / "v.png", "versions")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_self_heal_pids_are_the_daemons_glusterd_reports(volume_factory):
    """The #4016 workaround stops these with the glusterds (a glusterd that finds its daemon running
    restarts it without waiting, and the new one cannot bind its socket): exactly each node's self-heal
    daemon, no brick, no glusterd."""
    volume = volume_factory(VolumeType.REPLICA3)
    status = volume.cluster.nodes[0].gluster.volume_status(volume.name)
    reported = {volume.cluster.nodes[0].address if d.host == "localhost" else d.host: d.pid
                for d in status.self_heal_daemons() if d.online}
    assert {n.address: self_heal_pids(n) for n in volume.cluster.nodes} == {
        addr: [pid] for addr, pid in reported.items()}
    bricks = {b.pid for b in status.bricks}
    assert not bricks & {pid for n in volume.cluster.nodes for pid in self_heal_pids(n)}
