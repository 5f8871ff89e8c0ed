"""`python -m harness up / status / down` as a user runs them."""
from __future__ import annotations

import json
import subprocess
from pathlib import Path

from harness.providers.host import registry
from harness.providers.local import LocalCluster
from harness.providers.host.teardown import leftovers
from harness.gluster.glusterd_log import running_version

from ..conftest import REPO, harness_command


def harness(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(harness_command(*args), capture_output=True, text=True, cwd=REPO, timeout=180)


def test_up_status_down():
    up = harness("up", "--nodes", "2", "--zones", "2", "--clients", "1", "--volume", "replica2")
    assert up.returncode == 0, up.stderr
    run_id = up.stdout.split()[1]
    try:
        assert "enter: nsenter -t" in up.stdout and "mounted at" in up.stdout
        status = harness("status", "--json")
        assert status.returncode == 0, status.stderr
        ours = next(c for c in json.loads(status.stdout)["clusters"] if c["run_id"] == run_id)
        assert ours["persistent"] is True
        assert [(n["name"], n["zone"], n["peer_state"]) for n in ours["nodes"]] == [
            ("node1", "zone-a", "Connected"), ("node2", "zone-b", "Connected")]
        assert all(n["glusterd_pid"] and n["address"].startswith("198.18.") for n in ours["nodes"])
        assert [v["type"] for v in ours["volumes"]] == ["Replicate"]
        mount = Path(up.stdout.split("mounted at ")[1].split()[0])
        (mount / "written-by-test").write_text("ok")
        assert (mount / "written-by-test").read_text() == "ok"
        root = Path(ours["root"])
    finally:
        down = harness("down", run_id)
    assert down.returncode == 0, down.stderr
    assert f"removed {run_id}" in down.stdout
    assert leftovers(run_id, root) == []
    assert run_id not in harness("status").stdout


def made_under(root: Path) -> set[str]:
    """Clusters a command with `--root root` claimed or left: registry slots and run folders. (Other
    xdist workers start and stop clusters of their own meanwhile, so all clusters cannot be compared.)"""
    claimed = {e.run_id for e in registry.entries() if Path(e.root).parent == root}
    return claimed | ({p.name for p in root.glob(f"{registry.NAMESPACE_PREFIX}*")} if root.exists() else set())


def test_up_counts_the_volumes_asked_for_in_its_capacity_check(tmp_path):
    # 400 unmultiplexed replica-3 volumes: 1200 brick processes of ~22 MiB each, more than this machine has
    up = harness("up", "--root", str(tmp_path), "--clients", "1", *["--volume", "replica3"] * 400)
    assert up.returncode != 0
    assert "turn on brick multiplexing" in up.stderr and "400 volume" in up.stderr, up.stderr
    assert made_under(tmp_path) == set()  # refused before any cluster was made


def test_up_runs_the_gluster_version_asked_for_per_node():
    """A mixed-version cluster by hand (`up --gluster-version 10.3,11.1`): each node's glusterd
    really runs its version (its own start line says so), and status reports it."""
    up = harness("up", "--nodes", "2", "--zones", "2", "--clients", "1", "--gluster-version", "10.3,11.1",
                 "--volume", "replica2")
    assert up.returncode == 0, up.stderr
    run_id = up.stdout.split()[1]
    try:
        assert "GlusterFS 11.1" in up.stdout and "GlusterFS 10.3" in up.stdout
        ours = next(c for c in json.loads(harness("status", "--json").stdout)["clusters"] if c["run_id"] == run_id)
        assert [(n["name"], n["version"], n["peer_state"]) for n in ours["nodes"]] == [
            ("node1", "10.3", "Connected"), ("node2", "11.1", "Connected")]
        cluster = LocalCluster.attach(next(e for e in registry.entries() if e.run_id == run_id))
        assert [running_version(n) for n in cluster.nodes] == ["10.3", "11.1"]
        root = cluster.root
    finally:
        down = harness("down", run_id)
    assert down.returncode == 0, down.stderr
    assert leftovers(run_id, root) == []


def test_up_refuses_a_version_it_cannot_run_and_leaves_nothing(tmp_path):
    unknown = harness("up", "--root", str(tmp_path), "--nodes", "2", "--zones", "2", "--clients", "1",
                      "--gluster-version", "9.9")
    assert unknown.returncode == 2
    assert "GlusterFS version '9.9' is not one the harness can fetch; known: 11.1" in unknown.stderr, unknown.stderr
    miscounted = harness("up", "--root", str(tmp_path), "--nodes", "2", "--zones", "2",
                         "--gluster-version", "10.3,11.1,11.1")
    assert miscounted.returncode == 2
    assert "names 3 versions for 2 nodes" in miscounted.stderr, miscounted.stderr
    assert made_under(tmp_path) == set()


def test_status_shows_a_cluster_still_starting_instead_of_failing(tmp_path):
    """A slot is claimed before the cluster's state is written: `status` run by another test (or user)
    in between failed with "has no state file" (seen under xdist)."""
    with registry.locked():
        entry = registry.claim(tmp_path, {e.index for e in registry.entries()})
    try:
        status = harness("status", "--json")
        assert status.returncode == 0, status.stderr
        assert {"run_id": entry.run_id, "root": entry.root} in json.loads(status.stdout)["starting"]
        assert f"cluster {entry.run_id} starting" in harness("status").stdout
    finally:
        registry.release(entry.index)
