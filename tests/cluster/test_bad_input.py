"""Every bad input gives one clear error line and leaves nothing behind."""
from __future__ import annotations

import subprocess

import pytest

from harness.errors import ConfigError, MissingPrerequisite
from harness.providers.local import LocalProvider
from harness.volume import VolumeSpec, VolumeType, create_volume

from ..conftest import REPO, harness_command

NOT_ROOT = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
            # Only so the unprivileged process can read the interpreter under /root.
            "--inh-caps=+dac_read_search", "--ambient-caps=+dac_read_search"]


def test_more_zones_than_nodes(nothing_left_behind):
    with pytest.raises(ConfigError, match="--gluster-zones 4 is more than --gluster-nodes 3"):
        LocalProvider(nodes=3, zones=4).up()


def test_replica_count_above_node_count(nothing_left_behind):
    cluster = LocalProvider(nodes=2, zones=2, clients=0).up()
    try:
        with pytest.raises(ConfigError, match="replica3 needs 3 nodes for one set, the cluster has 2"):
            create_volume(cluster, VolumeSpec(VolumeType.REPLICA3))
        assert cluster.gluster.volume_names() == []
    finally:
        cluster.down()


def test_unknown_volume_type(volume_factory, gluster_cluster):
    before = gluster_cluster.gluster.volume_names()
    with pytest.raises(ConfigError, match="unknown volume type 'mirror'"):
        volume_factory("mirror")
    assert gluster_cluster.gluster.volume_names() == before


def test_run_root_the_harness_does_not_own(tmp_path, nothing_left_behind):
    (tmp_path / "precious.txt").write_text("keep me")
    with pytest.raises(ConfigError, match="not empty and was not made by the harness"):
        LocalProvider(root=tmp_path).up()
    assert [p.name for p in tmp_path.iterdir()] == ["precious.txt"]


def test_relative_run_root(nothing_left_behind):
    with pytest.raises(ConfigError, match="must be an absolute path"):
        LocalProvider(root="relative/dir").up()


def test_missing_binaries_are_named(nothing_left_behind, monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(MissingPrerequisite, match=r"missing binaries: glusterd, gluster, glusterfs, ip, .*make setup"):
        LocalProvider().up()


def test_not_root_python(nothing_left_behind):
    result = subprocess.run([*NOT_ROOT, *harness_command("up")], capture_output=True, text=True, cwd=REPO, timeout=60)
    assert result.returncode == 2
    assert result.stderr.strip() == "error: the local provider needs root (network namespaces, FUSE mounts); run as root"


def test_not_root_setup_says_what_is_missing():
    result = subprocess.run([*NOT_ROOT[:4], "bash", "scripts/setup.sh"], capture_output=True, text=True, cwd=REPO,
                            timeout=60)
    assert result.returncode == 1
    assert "missing: root privileges" in result.stderr


@pytest.mark.parametrize(
    "args, message",
    [
        (["up", "--nodes", "2", "--zones", "3"], "error: --gluster-zones 3 is more than --gluster-nodes 2"),
        (["up", "--volume", "replica9"], "error: unknown volume type 'replica9'"),
        (["up", "--volume", "replica3", "--option", "novalue"], "error: --option 'novalue' must look like KEY=VALUE"),
        (["down", "glh999"], "error: no kept cluster named glh999"),
    ],
)
def test_cli_rejects_bad_input_with_one_line(args, message, nothing_left_behind):
    result = subprocess.run(harness_command(*args), capture_output=True, text=True, cwd=REPO, timeout=60)
    assert result.returncode == 2
    assert result.stderr.startswith(message), result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
