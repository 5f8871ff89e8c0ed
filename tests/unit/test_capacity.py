"""The capacity check: estimates from measured footprints, refusal with advice, before any change."""
from __future__ import annotations

from pathlib import Path

import pytest

from harness import capacity
from harness.capacity import CapacityError, Demand, Footprint, check, estimate, max_volumes, meminfo
from harness.errors import ConfigError
from harness.providers.local import LocalProvider

GIB = 1024.0
FOOT = Footprint(brick_process_mb=20, mux_process_mb=20, mux_brick_mb=3, max_bricks_per_process=250,
                 glusterd_mb=30, glusterd_per_volume_mb=0.3, node_daemons_mb=15, shd_per_volume_mb=0.5, mount_mb=40)


@pytest.mark.parametrize("demand, processes", [
    (Demand(3, 0), 0),
    (Demand(3, 10), 30),  # one glusterfsd per brick without multiplexing
    (Demand(3, 1000), 3000),
    (Demand(3, 10, brick_multiplex=True), 3),  # one per node
    (Demand(3, 1000, brick_multiplex=True), 12),  # 1000 bricks per node / 250 per process
    (Demand(3, 1000, brick_multiplex=True, concurrency=4), 12),
    (Demand(3, 10, brick_multiplex=True, concurrency=4), 12),  # concurrent first starts each spawn one
    (Demand(3, 2, brick_multiplex=True, concurrency=4), 6),  # but never more than the node's bricks
    (Demand(3, 1000, bricks_per_volume=2), 2000),
    (Demand(3, 1000, brick_multiplex=True, bricks_per_process=67), 45),  # 15 per node under the fd cap
])
def test_brick_processes(demand, processes):
    assert demand.brick_processes(FOOT) == processes


def test_estimate_adds_bricks_daemons_and_mounts():
    est = estimate(Demand(3, 10, mounts=2), FOOT)
    assert est.bricks_mb == 30 * 20
    assert est.daemons_mb == pytest.approx(3 * (30 + 15 + 10 * 0.8))
    assert est.mounts_mb == 80
    assert est.total_mb == pytest.approx(600 + 3 * 53 + 80)
    muxed = estimate(Demand(3, 10, brick_multiplex=True), FOOT)
    assert muxed.bricks_mb == 3 * 20 + 27 * 3


def test_a_thousand_volumes_without_multiplexing_are_refused_on_24_gib_with_advice():
    with pytest.raises(CapacityError) as err:
        check(Demand(3, 1000), available_mb=23 * GIB, total_mb=24 * GIB, footprint=FOOT)
    message = str(err.value)
    assert "3 nodes x 1000 volumes x 3 bricks (brick multiplexing off) would not fit" in message
    assert "3000 brick processes" in message
    assert "turn on brick multiplexing" in message and "cluster.brick-multiplex on" in message
    assert "which fits" in message  # the multiplexed alternative would fit, and says so
    assert isinstance(err.value, ConfigError)


def test_a_thousand_volumes_with_multiplexing_fit_on_24_gib():
    est = check(Demand(3, 1000, brick_multiplex=True, concurrency=4), available_mb=23 * GIB, total_mb=24 * GIB,
                footprint=FOOT)
    assert est.brick_processes == 12
    assert est.total_mb < 23 * GIB - capacity.headroom_mb(24 * GIB)


def test_refusal_with_multiplexing_on_names_how_many_fit():
    with pytest.raises(CapacityError) as err:
        check(Demand(3, 1000, brick_multiplex=True), available_mb=4 * GIB, total_mb=8 * GIB, footprint=FOOT)
    assert "lower the number of volumes (at most about" in str(err.value)
    assert "turn on brick multiplexing" not in str(err.value)


def test_headroom_keeps_a_tenth_or_one_gib():
    assert capacity.headroom_mb(4 * GIB) == 1024
    assert capacity.headroom_mb(24 * GIB) == pytest.approx(2.4 * GIB)
    # Just over the line fails, just under passes: the headroom is part of the ceiling.
    need = estimate(Demand(1, 10), FOOT).total_mb
    check(Demand(1, 10), available_mb=need + 1024, total_mb=4 * GIB, footprint=FOOT)
    with pytest.raises(CapacityError):
        check(Demand(1, 10), available_mb=need + 1023, total_mb=4 * GIB, footprint=FOOT)


def test_max_volumes_is_the_largest_that_fits():
    usable = 5000.0
    n = max_volumes(Demand(3, 0), usable, FOOT)
    assert estimate(Demand(3, n), FOOT).total_mb <= usable < estimate(Demand(3, n + 1), FOOT).total_mb
    assert max_volumes(Demand(3, 0), 10.0, FOOT) == 0


@pytest.mark.parametrize("demand", [Demand(0, 1), Demand(3, -1), Demand(3, 1, bricks_per_volume=0),
                                    Demand(3, 1, concurrency=0), Demand(3, 1, bricks_per_process=0)])
def test_impossible_demand_is_a_config_error(demand):
    with pytest.raises(ConfigError, match="impossible demand"):
        check(demand, available_mb=GIB * 100, total_mb=GIB * 100)


@pytest.mark.parametrize("nofile, bricks", [(20000, 67), (1048576, 3741), (1024, 1), (1300, 1)])
def test_bricks_per_process_follow_the_open_files_limit(nofile, bricks):
    assert capacity.bricks_per_process_limit(nofile) == bricks


def test_bricks_per_process_limit_reads_our_own_limit():
    import resource

    soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    expected = capacity.bricks_per_process_limit(1 << 20 if soft == resource.RLIM_INFINITY else soft)
    assert capacity.bricks_per_process_limit() == expected >= 1


def test_meminfo_reads_mib(tmp_path: Path):
    f = tmp_path / "meminfo"
    f.write_text("MemTotal:       24683520 kB\nMemAvailable:   1048576 kB\nHugePages_Total:       0\n")
    info = meminfo(f)
    assert info["MemAvailable"] == 1024.0
    assert info["MemTotal"] == pytest.approx(24105.0)
    assert info["HugePages_Total"] == 0
    real = meminfo()
    assert 0 < real["MemAvailable"] <= real["MemTotal"]


def test_local_provider_refuses_before_anything_changes(tmp_path: Path, nothing_left_behind):
    root = tmp_path / "never-made"
    provider = LocalProvider(nodes=3, zones=3, clients=1, root=root, volumes=1000, brick_multiplex=False)
    with pytest.raises(CapacityError, match="turn on brick multiplexing"):
        provider.up()
    assert not root.exists(), "the run root was made although the configuration was refused"


@pytest.mark.skipif(meminfo()["MemTotal"] < 20 * GIB, reason="the 1000-volume claim is for the 24 GiB build machine")
def test_local_provider_accepts_what_fits():
    # The check alone (no cluster is started): 1000 multiplexed volumes fit this 24 GiB machine
    # when it is otherwise idle (what is free right now depends on the other runs sharing it).
    provider = LocalProvider(nodes=3, volumes=1000, brick_multiplex=True)
    est = check(provider.demand, available_mb=meminfo()["MemTotal"] - 1024)
    assert est.brick_processes == 12
