"""The provisioning storm: pure parts table-driven, then small real storms on a local cluster."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness import capacity
from harness.capacity import CapacityError, Footprint
from harness.errors import ConfigError
from harness.storm import (
    DEFAULT_MAX_PROVISION_P99_S, MAX_BRICKS_OPTION, MULTIPLEX_OPTION, StormPlan, StormResult, VolumeTiming,
    cluster_option, run_storm,
)
from harness.storm_cleanup import sweep_storm_volumes
from harness.storm_cost import Sample, gluster_processes
from harness.storm_curve import plot_curves, write_result
from harness.storm_verdict import (
    STORM_VOLUMES_ENV, check_footprint, check_storm, provision_p99_threshold, storm_volume_count,
)
from harness.timeseries import percentile
from harness.volume import VolumeSpec, VolumeType


# --- pure parts -----------------------------------------------------------------------------------

@pytest.mark.parametrize("values, q, expected", [
    (list(range(1, 101)), 50, 50),
    (list(range(1, 101)), 95, 95),
    (list(range(1, 101)), 99, 99),
    (list(range(1, 101)), 100, 100),
    ([3.0, 1.0, 2.0], 50, 2.0),
    ([3.0, 1.0, 2.0], 99, 3.0),  # nearest rank: never interpolated below the slowest of few
    ([7.5], 1, 7.5),
    ([], 99, None),
])
def test_percentile_nearest_rank(values, q, expected):
    assert percentile(values, q) == expected


def test_percentile_rejects_out_of_range():
    with pytest.raises(ConfigError):
        percentile([1.0], 0)


@pytest.mark.parametrize("volumes, samples, expected", [
    (100, 10, [10, 20, 30, 40, 50, 60, 70, 80, 90, 100]),
    (5, 10, [1, 2, 3, 4, 5]),
    (7, 3, [3, 6, 7]),
    (1, 1, [1]),
])
def test_checkpoints_end_at_n(volumes, samples, expected):
    assert StormPlan(volumes, samples=samples).checkpoints() == expected


@pytest.mark.parametrize("kwargs, message", [
    ({"volumes": 0}, "at least 1 volume"),
    ({"volumes": 5, "concurrency": 0}, "concurrency must be >= 1"),
    ({"volumes": 5, "mount_every": -1}, "mount_every must be >= 0"),
    ({"volumes": 5, "samples": 0}, "samples >= 1"),
    ({"volumes": 5, "prefix": "st-orm"}, "only letters and digits"),
    ({"volumes": 5, "bricks_per_process": 0}, "bricks_per_process must be >= 1"),
    ({"volumes": 5, "delete_sample": 0}, "delete_sample must be >= 1"),
])
def test_bad_plan_is_a_config_error(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        StormPlan(**kwargs)


def test_plan_demand_carries_shape_and_concurrency():
    plan = StormPlan(1000, concurrency=4, brick_multiplex=True, spec=VolumeSpec(VolumeType.REPLICA2))
    demand = plan.demand(3)
    assert (demand.volumes, demand.bricks_per_volume, demand.brick_multiplex, demand.concurrency) == (1000, 2, True, 4)
    assert plan.demand(3, volumes=10).volumes == 10
    # Multiplexed processes are capped below gluster's 250 by the open-files limit they inherit.
    assert plan.max_bricks_per_process == min(250, capacity.bricks_per_process_limit()) == demand.bricks_per_process
    assert StormPlan(5, bricks_per_process=10).max_bricks_per_process == 10


def test_storm_volume_count_from_environment():
    assert storm_volume_count(100, {}) == 100
    assert storm_volume_count(100, {STORM_VOLUMES_ENV: "12"}) == 12
    for bad in ("0", "-3", "many"):
        with pytest.raises(ConfigError, match=STORM_VOLUMES_ENV):
            storm_volume_count(100, {STORM_VOLUMES_ENV: bad})


def test_threshold_from_the_profile_table(tmp_path: Path):
    gates = tmp_path / "thresholds.toml"
    gates.write_text("[fast]\nmax_provision_p99_s = 7\n[realistic]\nmax_heal_s = 900\n")
    assert provision_p99_threshold(gates, "fast") == (7.0, f"{gates} [fast]")
    value, source = provision_p99_threshold(gates, "realistic")
    assert value == DEFAULT_MAX_PROVISION_P99_S and "sets no max_provision_p99_s" in source
    gates.write_text("[fast]\nmax_provision_p99_s = 7\n[fast.scenarios.storm]\nmax_provision_p99_s = 3\n")
    assert provision_p99_threshold(gates, "fast")[0] == 3.0


def test_threshold_defaults_when_the_file_is_absent(tmp_path: Path):
    value, source = provision_p99_threshold(tmp_path / "none.toml", "fast")
    assert value == DEFAULT_MAX_PROVISION_P99_S and "absent" in source


def test_threshold_file_errors_name_the_file(tmp_path: Path):
    gates = tmp_path / "thresholds.toml"
    gates.write_text("[fast\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        provision_p99_threshold(gates, "fast")
    gates.write_text("[other]\nmax_provision_p99_s = 1\n")
    with pytest.raises(ConfigError, match=r"no \[fast\] table"):
        provision_p99_threshold(gates, "fast")


def test_the_repository_gates_file_sets_the_storm_gate_for_fast():
    value, source = provision_p99_threshold(None, "fast")
    assert "thresholds.toml [fast]" in source and value > 0


def _sample(n: int, glusterd: float, bricks: float, other: float, brick_procs: int) -> Sample:
    return Sample(n, float(n), glusterd, bricks, other, 3 + brick_procs + (3 if n else 0), 3, brick_procs, 20000.0)


def _result(latencies: list[float], errors: int = 0, leftovers: tuple[str, ...] = (), volumes: int | None = None,
            curve: list[Sample] | None = None, mux: bool = False) -> StormResult:
    timings = [VolumeTiming(f"storm-{i:05d}", True, s, {"create": s / 2, "start": s / 2})
               for i, s in enumerate(latencies)]
    timings += [VolumeTiming(f"storm-9{i:04d}", False, 30.0, {}, error="WaitTimeout: brick down")
                for i in range(errors)]
    plan = StormPlan(volumes or len(timings), brick_multiplex=mux)
    n = len(latencies)
    curve = curve or [_sample(0, 60, 0, 0, 0), _sample(n, 70, 18.5 * 3 * n, 40, 3 * n)]
    return StormResult(plan, "glh9", 3, 0, timings, curve, 10.0, 5.0, list(leftovers), "250 (DEFAULT)")


def test_check_storm_passes_a_clean_storm():
    result = _result([0.5] * 98 + [1.0, 2.0])
    check = check_storm(result, 10.0)
    assert check.passed is True, check.explain()
    assert result.percentile(99) == 1.0 and result.volumes_per_min == 600.0
    record = result.to_record()
    assert record["p50_s"] == 0.5 and record["p99_s"] == 1.0 and record["max_s"] == 2.0
    assert record["scenario"] == "storm" and record["errors"] == [] and len(record["curve"]) == 2
    assert record["phases_mean_s"] == {"create": pytest.approx(0.26), "start": pytest.approx(0.26)}


@pytest.mark.parametrize("result, reason", [
    (_result([0.5] * 10, errors=1), "1 error(s)"),
    (_result([0.5] * 90 + [20.0] * 10), "provisioning p99 20.0 s over 10.0 s"),
    (_result([0.5] * 10, leftovers=("volume storm-00003",)), "left behind: volume storm-00003"),
    (_result([0.5] * 10, volumes=12), "only 10 of 12 volumes provisioned"),
    (_result([], volumes=1), "p99 None s"),
])
def test_check_storm_negative_controls(result, reason):
    check = check_storm(result, 10.0)
    assert check.passed is False
    assert reason in check.observed


def test_check_footprint_holds_and_reports_an_underestimate():
    measured = _result([0.5] * 30)  # 90 bricks at 18.5 MiB, glusterd 70, shd 40
    assert check_footprint(measured).passed is True
    tiny = Footprint(brick_process_mb=5.0)
    check = check_footprint(measured, tiny)
    assert check.passed is False and "90 brick processes, 18.5 MiB each" in check.observed
    invisible = _result([0.5], curve=[Sample(0, 0.0, None, None, None, None, None, None, 1.0)])
    assert check_footprint(invisible).passed is None


def test_result_and_curve_files(tmp_path: Path):
    off = _result([0.5] * 30)
    on = _result([0.4] * 30, mux=True,
                 curve=[_sample(0, 60, 0, 0, 0), _sample(30, 70, 20 * 3 + 87 * 2.6, 40, 3)])
    path = write_result(off, tmp_path)
    data = json.loads(path.read_text())
    assert path.name == "storm-30-mux-off.json" and len(data["volumes"]) == 30 and data["n_volumes"] == 30
    png = plot_curves([off.to_record(), on.to_record()], tmp_path / "storm.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000
    assert not list(tmp_path.glob(".*.tmp")), "temporary files were left behind"


# --- real storms on a local cluster -------------------------------------------------------------

def _storm_leftovers_on(cluster, prefix: str = "storm") -> list[str]:
    found = [v for v in cluster.gluster.volume_names() if v.startswith(prefix + "-")]
    for node in cluster.nodes:
        found += [str(p) for p in Path(node.brick_root).glob(f"{prefix}-*")]
    return found


@pytest.mark.parametrize("multiplex", [True, False], ids=["mux-on", "mux-off"])
def test_small_storm_provisions_measures_and_deletes_everything(gluster_cluster, multiplex):
    plan = StormPlan(4, concurrency=2, brick_multiplex=multiplex, mount_every=2, samples=2,
                     spec=VolumeSpec(VolumeType.REPLICA3, {"network.ping-timeout": "5"}))
    result = run_storm(gluster_cluster, plan)
    check = check_storm(result, 60.0)
    assert check.passed is True, check.explain()
    record = result.to_record()
    assert record["created"] == 4 and record["mounts"]["count"] == 2 and record["mounts"]["max_s"] > 0
    assert record["deletes"]["count"] == 4 and record["deletes"]["kept_for_teardown"] == 0
    assert set(record["phases_mean_s"]) == {"create", "options", "start", "online"}
    first, last = result.curve[0], result.curve[-1]
    assert first.n == 0 and last.n == 4 and last.glusterd_processes == 3
    assert last.brick_rss_mb > first.brick_rss_mb
    if multiplex:  # bricks share processes: at most one per concurrent start per node
        assert 3 <= last.brick_processes <= 3 * plan.concurrency
    else:  # one glusterfsd per brick (the cluster may hold no other volume during this test)
        assert last.brick_processes == 4 * 3
    # Independently of the storm's own account: nothing of it is left, multiplexing is reset.
    assert _storm_leftovers_on(gluster_cluster) == []
    assert not any("/storm-" in Path(f"/proc/{pid}/cmdline").read_text(errors="replace")
                   for pid in (gluster_processes(gluster_cluster.nodes) or {}).get("glusterfsd", []))
    assert cluster_option(gluster_cluster.gluster, MULTIPLEX_OPTION).startswith("disable")
    assert cluster_option(gluster_cluster.gluster, MAX_BRICKS_OPTION).split()[0] == "250"  # gluster's default
    assert record["max_bricks_per_process"] == (str(plan.max_bricks_per_process) if multiplex else None)


def test_a_delete_sample_deletes_the_newest_volumes_timed_and_keeps_the_rest(gluster_cluster):
    plan = StormPlan(3, concurrency=1, mount_every=0, samples=1, delete_sample=1, prefix="sample")
    try:
        result = run_storm(gluster_cluster, plan)
        assert result.errors == [] and len(result.delete_latencies) == 1 and result.delete_latencies[0] > 0
        assert result.kept_for_teardown == 2 and result.to_record()["deletes"]["kept_for_teardown"] == 2
        assert sorted(v for v in gluster_cluster.gluster.volume_names() if v.startswith("sample-")) == \
            ["sample-00000", "sample-00001"]
    finally:
        assert sweep_storm_volumes(gluster_cluster, "sample") == []


def test_failing_volumes_are_errors_and_the_storm_stops_and_cleans_up(gluster_cluster):
    # Negative control: gluster refuses the option, so every provision fails.
    plan = StormPlan(8, concurrency=1, max_errors=2, samples=8,
                     spec=VolumeSpec(VolumeType.REPLICA3, {"no.such.option": "1"}))
    result = run_storm(gluster_cluster, plan)
    check = check_storm(result, 60.0)
    assert check.passed is False
    assert result.created == 0 and 2 <= len(result.errors) < 8
    assert "no.such.option" in result.errors[0]
    assert _storm_leftovers_on(gluster_cluster) == []


def test_a_storm_that_cannot_fit_is_refused_before_anything_changes(gluster_cluster):
    before = gluster_cluster.gluster.volume_names()
    with pytest.raises(CapacityError, match="turn on brick multiplexing"):
        run_storm(gluster_cluster, StormPlan(100_000, brick_multiplex=False))
    assert gluster_cluster.gluster.volume_names() == before
    assert cluster_option(gluster_cluster.gluster, MULTIPLEX_OPTION).startswith("disable")


def test_volumes_named_like_the_storm_are_refused(gluster_cluster, volume_factory):
    volume_factory(VolumeType.REPLICA3, name="clash-00000")
    with pytest.raises(ConfigError, match="already exist"):
        run_storm(gluster_cluster, StormPlan(2, prefix="clash"))
