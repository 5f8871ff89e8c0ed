"""Provisioning at scale: a storm of N replica-3 volumes, with and without brick multiplexing.

N is the profile's storm_volumes (100 fast, 1000 realistic; GLUSTER_STORM_VOLUMES overrides it).
Fails on any provisioning error (a volume start lost to gluster/glusterfs#1101's port race, shown
by its brick log, is reported as that known defect), anything left behind, a provisioning p99 over the gate
(max_provision_p99_s of the thresholds file), or memory growth beyond the capacity model. A storm
the machine cannot hold (e.g. 1000 volumes without multiplexing) is skipped with the arithmetic.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from harness import Capability
from harness.capacity import CapacityError
from harness.pytest.plugin import OPTIONS, expect, option
from harness.results import load_records
from harness.storm import StormPlan, run_storm
from harness.storm_curve import plot_curves, write_result
from harness.storm_verdict import (check_footprint, check_storm, diagnose_failures, provision_p99_threshold,
                                   storm_volume_count)
from harness.volume import VolumeSpec, VolumeType

pytestmark = [pytest.mark.scale, pytest.mark.requires(Capability.PROCESS_STATS)]  # memory per process, from /proc


@pytest.mark.parametrize("multiplex", [True, False], ids=["mux-on", "mux-off"])
def test_provisioning_storm(gluster_cluster, profile, run_dir, recorder, request, pytestconfig, multiplex):
    thresholds = str(option(pytestconfig, "thresholds"))
    max_p99_s, source = provision_p99_threshold(None if thresholds == OPTIONS["thresholds"][1] else Path(thresholds),
                                                profile.name)
    plan = StormPlan(storm_volume_count(profile.storm_volumes), brick_multiplex=multiplex,
                     spec=VolumeSpec(VolumeType.REPLICA3, profile.volume_options))
    try:
        result = run_storm(gluster_cluster, plan)
    except CapacityError as exc:
        pytest.skip(f"this machine cannot hold the storm: {exc}")
    record = recorder.record("storm", {**result.to_record(), "max_p99_s": max_p99_s, "max_p99_source": source},
                             test=request.node.nodeid)
    write_result(result, run_dir.path)
    plot_curves(load_records(run_dir.path, "storm"), run_dir.path / "storm.png")
    print(f"storm {plan.label}: p50 {record['p50_s']} s, p99 {record['p99_s']} s (gate {max_p99_s} s from "
          f"{source}), {record['volumes_per_min']} volumes/min, peak {record['peak']}")
    expect(check_storm(result, max_p99_s, diagnose_failures(result, gluster_cluster.nodes)))
    expect(check_footprint(result))
