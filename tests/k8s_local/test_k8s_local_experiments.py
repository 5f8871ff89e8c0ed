"""chaostoolkit's way into a k8s-local cluster: the chaos target attaches from this host's registry
through the Kubernetes API (its own connection, not the test's cluster object), finds the volume's
mount inside a client pod, and its probes judge the real volume. Negative controls: a killed brick
makes the health probe False naming it; an unmounted volume is refused saying how to mount one.
And the engineer's path: `python -m harness up --provider k8s-local --volume replica3`, then
`chaos run` of an experiment against it, then `down`, leaving nothing behind."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from harness.chaos import probes
from harness.chaos.target import RUN_ID_KEY, VOLUME_KEY, target
from harness.errors import ConfigError
from harness.faults import KillBrick
from harness.providers.k8s.cluster import K8sCluster
from harness.providers.host.teardown import leftovers
from harness.volume import VolumeSpec, VolumeType, create_volume

from ..conftest import REPO, harness_command
from .conftest import k8s_built

pytestmark = k8s_built



def test_the_target_finds_the_pod_mount_and_its_probes_judge_the_volume(cluster):
    volume = create_volume(cluster, VolumeSpec(VolumeType.REPLICA3, {"network.ping-timeout": "5"}))
    mount = cluster.mount(volume, cluster.clients[-1])
    config = {RUN_ID_KEY: cluster.run_id, VOLUME_KEY: volume.name}
    t = target(config)
    assert isinstance(t.cluster, K8sCluster) and t.cluster is not cluster
    assert [(m.client.name, str(m.path)) for m in t.mounts] == [(mount.client.name, str(mount.path))]
    assert probes.volume_healthy(config) and probes.client_can_write_and_read(configuration=config)
    assert probes.pending_heal_is_zero(config) and probes.no_split_brain(config)
    with KillBrick(cluster, volume, bricks=[1]):
        assert probes.volume_healthy(config) is False  # negative control: the probe sees the real volume


def test_a_volume_mounted_nowhere_is_refused_saying_how_to_mount_it(cluster):
    volume = create_volume(cluster, VolumeSpec(VolumeType.REPLICA3))
    t = target({RUN_ID_KEY: cluster.run_id, VOLUME_KEY: volume.name})
    assert t.mounts == []
    with pytest.raises(ConfigError, match=f"volume {volume.name} of {cluster.run_id} is not mounted on any client"):
        t.mount


HEALTH_ONLY = {
    "version": "1.0.0", "title": "the volume of a k8s-local cluster is whole", "description": "steady state only",
    "configuration": {"glusterharness_run_id": {"type": "env", "key": "GLUSTERHARNESS_RUN_ID"}},
    "steady-state-hypothesis": {"title": "whole", "probes": [
        {"type": "probe", "name": name, "tolerance": True,
         "provider": {"type": "python", "module": "harness.chaos.probes", "func": name}}
        for name in ("volume_healthy", "client_can_write_and_read", "pending_heal_is_zero")]},
    "method": [{"type": "probe", "name": "no-split-brain", "tolerance": True,
                "provider": {"type": "python", "module": "harness.chaos.probes", "func": "no_split_brain"}}],
}


def test_up_then_an_experiment_run_then_down(tmp_path):
    up = subprocess.run(harness_command("up", "--provider", "k8s-local", "--clients", "1", "--volume", "replica3"),
                        capture_output=True, text=True, cwd=REPO, timeout=600)
    assert up.returncode == 0, up.stderr
    run_id, root = up.stdout.split()[1], up.stdout.split("root ")[1].split()[0]
    try:
        assert "kubeconfig:" in up.stdout and "mounted at /mnt/glusterharness/mnt/" in up.stdout, up.stdout
        experiment = tmp_path / "health.json"
        experiment.write_text(json.dumps(HEALTH_ONLY))
        journal = tmp_path / "journal.json"
        chaos = subprocess.run([os.path.join(os.path.dirname(sys.executable), "chaos"), "--no-version-check",
                                "--log-file", str(tmp_path / "chaostoolkit.log"),  # not in the repository
                                "run", "--journal-path", str(journal), str(experiment)],
                               capture_output=True, text=True, cwd=REPO, timeout=300,
                               env={**os.environ, "GLUSTERHARNESS_RUN_ID": run_id})
        assert chaos.returncode == 0, chaos.stdout + chaos.stderr
        ran = json.loads(journal.read_text())
        assert ran["status"] == "completed" and ran["steady_states"]["before"]["steady_state_met"] is True
    finally:
        down = subprocess.run(harness_command("down", run_id), capture_output=True, text=True, cwd=REPO, timeout=300)
    assert down.returncode == 0, down.stderr
    assert leftovers(run_id, Path(root)) == []
