"""Chaos experiments: every chaos/*.json run through chaostoolkit's library (chaoslib) against the
session's cluster, on a fresh replica-3 volume with the profile's options (network.ping-timeout 5
in the fast profile). Each must complete with the steady state held before and after (no
deviation) and every activity succeeded; the journal goes to reports/<run-id>/chaos/ and the
verdict into the conformance matrix. Select them with `pytest -m chaos suites` or `pytest -k chaos`.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from harness import Capability
from harness.chaos.experiment import check_journal, experiment_files
from harness.volume import VolumeType

EXPERIMENTS = experiment_files()


def test_experiments_exist() -> None:
    """The folder the parametrization reads is not empty (an empty one would select nothing)."""
    assert {p.stem for p in EXPERIMENTS} >= {"pod-kill", "node-crash", "node-hang", "network-partition",
                                             "zone-outage", "zone-latency", "rolling-restart"}


@pytest.mark.chaos
# chaostoolkit reaches the cluster through this host's registry; its actions and probes are local ones
@pytest.mark.requires(Capability.CHAOS_TARGET, Capability.PROCESS_FAULTS, Capability.HOST_FUSE)
@pytest.mark.parametrize("experiment", EXPERIMENTS, ids=[p.stem for p in EXPERIMENTS])
def test_chaos_experiment(experiment: Path, volume_factory, mount_factory, chaos_runner, conform) -> None:
    volume = volume_factory(VolumeType.REPLICA3)
    mount_factory(volume)
    journal = chaos_runner(experiment, volume)
    conform(f"chaos:{experiment.stem}", volume, experiment.stem, check_journal(journal, experiment.stem))
