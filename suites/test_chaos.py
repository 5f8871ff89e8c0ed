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
from harness.chaos.experiment import check_journal, experiment_files, experiment_needs
from harness.volume import VolumeType

EXPERIMENTS = experiment_files()


def test_experiments_exist() -> None:
    """The folder the parametrization reads is not empty (an empty one would select nothing)."""
    assert {p.stem for p in EXPERIMENTS} >= {"pod-kill", "node-crash", "node-hang", "network-partition",
                                             "zone-outage", "zone-latency", "rolling-restart"}


@pytest.mark.chaos
# chaostoolkit attaches to the cluster from this host's registry; each experiment also needs what its
# activities' faults need (a zone's latency: packet delay; a rolling upgrade: GlusterFS versions)
@pytest.mark.requires(Capability.CHAOS_TARGET)
@pytest.mark.parametrize("experiment", [pytest.param(p, marks=pytest.mark.requires(*experiment_needs(p)))
                                        for p in EXPERIMENTS], ids=[p.stem for p in EXPERIMENTS])
def test_chaos_experiment(experiment: Path, volume_factory, mount_factory, chaos_runner, conform) -> None:
    volume = volume_factory(VolumeType.REPLICA3)
    mount_factory(volume)
    journal = chaos_runner(experiment, volume)
    conform(f"chaos:{experiment.stem}", volume, experiment.stem, check_journal(journal, experiment.stem))
