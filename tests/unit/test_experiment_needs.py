"""What a chaos experiment needs of its cluster, read from its activities, and how the chaos target
finds a volume's mounts: which experiments a provider runs and which it skips, named."""
from __future__ import annotations

import json

import pytest

from harness.chaos.experiment import experiment_files, experiment_needs
from harness.control import Capability, lacking
from harness.errors import Unsupported
from harness.faults.latency import Latency
from harness.mount import glusterfs_mounts, mount_name_of
from harness.providers import provider_capabilities
from harness.timeline import Timeline

from .test_node_fault_mechanism import StubCluster

EXPERIMENTS = {p.stem: p for p in experiment_files()}


def runs_on(provider: str) -> set[str]:
    available = provider_capabilities(provider)
    return {name for name, path in EXPERIMENTS.items() if lacking(experiment_needs(path), available, provider) is None}


def test_the_local_provider_runs_every_experiment():
    assert runs_on("local") == set(EXPERIMENTS)


def test_k8s_local_runs_all_but_the_version_swap_and_kind_neither_that_nor_packet_delay():
    assert set(EXPERIMENTS) - runs_on("k8s-local") == {"rolling-upgrade"}
    assert Capability.GLUSTER_VERSIONS in experiment_needs(EXPERIMENTS["rolling-upgrade"])
    assert set(EXPERIMENTS) - runs_on("kind") == {"rolling-upgrade", "zone-latency"}
    assert Capability.PACKET_DELAY in experiment_needs(EXPERIMENTS["zone-latency"])


def test_a_pod_restart_is_served_by_either_way():
    assert experiment_needs(EXPERIMENTS["pod-kill"]) == [Capability.POD_RESTARTS]


def test_an_experiment_without_harness_activities_needs_nothing(tmp_path):
    path = tmp_path / "x.json"
    path.write_text(json.dumps({"method": [{"type": "action", "name": "a",
                                            "provider": {"type": "process", "path": "true"}}]}))
    assert experiment_needs(path) == []


def test_latency_is_refused_when_built_without_packet_delay():
    with pytest.raises(Unsupported, match=f"latency needs {Capability.PACKET_DELAY}"):
        Latency(StubCluster({Capability.NETWORK_FAULTS}), zones=["zone-a"], delay_ms=5)
    assert Latency(StubCluster({Capability.PACKET_DELAY}), zones=["zone-a"], delay_ms=5, timeline=Timeline()).names


# Recorded from a k8s-local client pod (mount points with a space come escaped as \040).
PROC_MOUNTS = """\
overlay / overlay rw,relatime 0 0
proc /proc proc rw,nosuid,nodev,noexec,relatime 0 0
glh4-v1 /mnt/glusterharness/mnt/glh4-v1-1 fuse.glusterfs rw,relatime,user_id=0 0 0
glh4-v1 /mnt/glusterharness/mnt/glh4-v12-3 fuse.glusterfs rw,relatime,user_id=0 0 0
glh4-v1 /mnt/glusterharness/mnt/my\\040vol-2 fuse.glusterfs rw,relatime,user_id=0 0 0
/dev/sda1 /mnt/glusterharness/mnt/glh4-v1-9 ext4 rw 0 0
"""


def test_glusterfs_mount_points_are_read_from_proc_mounts():
    points = glusterfs_mounts(PROC_MOUNTS)
    assert points == ["/mnt/glusterharness/mnt/glh4-v1-1", "/mnt/glusterharness/mnt/glh4-v12-3",
                      "/mnt/glusterharness/mnt/my vol-2"]  # not the ext4 one at a mount-like path
    assert [p for p in points if mount_name_of(p, "glh4-v1")] == ["/mnt/glusterharness/mnt/glh4-v1-1"]
    assert not mount_name_of("/mnt/x/glh4-v1-old", "glh4-v1")
