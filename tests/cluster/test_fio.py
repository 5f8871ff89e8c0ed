"""fio over the FUSE file, the loop block device and gfapi, for real; job parameters and parsing."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.errors import ConfigError
from harness.timeseries import Phase, phase_percentiles
from harness.volume import VolumeType
from harness.workloads.block import attach_loop
from harness.workloads.fio import (
    WORKLOADS_DIR, FileTarget, FioJob, GfapiTarget, BlockTarget, known_workloads, parse_lat_log, parse_size,
)

RUNTIME_S = 2


def test_every_workload_file_exists_without_gtod_reduce_and_takes_size_and_runtime():
    assert known_workloads() == ["randread", "randrw", "randwrite", "seqread", "seqwrite"]
    for name in known_workloads():
        text = (WORKLOADS_DIR / f"{name}.fio").read_text()
        assert "gtod_reduce" not in text.replace("Never add gtod_reduce", "")
        assert "size=${SIZE}" in text and "runtime=${RUNTIME}" in text
    assert "rwmixread=70" in (WORKLOADS_DIR / "randrw.fio").read_text()


@pytest.mark.parametrize("kwargs, message", [
    ({"workload": "randwrte"}, "unknown fio workload 'randwrte'; known workloads: randread, randrw"),
    ({"workload": "randread", "size": "-64M"}, "fio size '-64M' must be a positive size"),
    ({"workload": "randread", "size": "0"}, "must be a positive size"),
    ({"workload": "randread", "size": "64X"}, "must be a positive size"),
    ({"workload": "randread", "runtime_s": 0}, "runtime must be a positive whole number"),
    ({"workload": "randread", "iodepth": 0}, "iodepth must be >= 1"),
])
def test_bad_job_parameters_are_one_clear_error(kwargs, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace("$", r"\$")):
        FioJob(**kwargs)


def test_sizes_are_binary_units():
    assert parse_size("4k") == 4096 and parse_size("64M") == 64 << 20 and parse_size("1G") == 1 << 30


def test_latency_log_parses_into_per_direction_series(tmp_path):
    log = tmp_path / "lat_clat.1.log"
    log.write_text("1795000000000, 250000, 0, 4096, 0\n1795000000500, 1500000, 1, 4096, 4096\n"
                   "1795000001000, 750000, 0, 4096, 8192\n")
    series = parse_lat_log(log, "x")
    assert [(p.t, p.latency_ms) for p in series["read"].points] == [(1795000000.0, 0.25), (1795000001.0, 0.75)]
    assert [p.latency_ms for p in series["write"].points] == [1.5]


@pytest.fixture
def r3(volume_factory):
    return volume_factory(VolumeType.REPLICA3)


def _check_result(result, direction: str):
    stats = getattr(result, direction)
    assert stats is not None and stats.iops > 0 and stats.ios > 0 and stats.bw_kib_s > 0
    c = stats.clat
    # fio's percentiles are its histogram's bin values (64 bins per power of two: within 1/64), so
    # one in the top bin may pass the exact max by that much (p99.9 39.58 ms, max 39.41 ms, loaded).
    assert 0 < c.p50_ms <= c.p95_ms <= c.p99_ms <= c.p99_9_ms <= c.max_ms * (1 + 1 / 64)
    series = result.series[direction]
    # one point per I/O, inside the run's wall-clock window, consistent with fio's own percentiles
    assert len(series.points) == stats.ios
    assert result.started - 1 <= series.start <= series.end <= result.ended + 1
    (whole,) = phase_percentiles(series, [Phase("run", result.started - 1, result.ended + 1)])
    assert whole.count == stats.ios
    assert whole.percentiles_ms["p50"] == pytest.approx(c.p50_ms, rel=0.15)


def test_fio_on_a_fuse_file_reports_iops_and_latency_per_io(fio_runner, mount_factory, r3):
    mount = mount_factory(r3)
    result = fio_runner(FileTarget(mount), FioJob("randrw", "16M", RUNTIME_S))
    _check_result(result, "read")
    _check_result(result, "write")
    assert result.read.iops > result.write.iops  # 70/30
    assert (mount / "fio.dat").stat().st_size == 16 << 20
    assert json.loads((result.out_dir / "fio.json").read_text())["jobs"][0]["job options"]["rw"] == "randrw"


def test_fio_on_a_loop_block_device_with_direct_io(fio_runner, mount_factory, r3, gluster_cluster):
    mount = mount_factory(r3)
    with attach_loop(gluster_cluster.clients[0], mount, "16M") as loop:
        result = fio_runner(BlockTarget(loop.device), FioJob("randwrite", "16M", RUNTIME_S, iodepth=4))
        assert loop.attached()
    assert not loop.attached()
    _check_result(result, "write")
    assert "--direct=1" in result.argv and "--ioengine=libaio" in result.argv
    assert result.read is None


def test_fio_over_gfapi_keeps_its_gfapi_log_private(fio_runner, r3, gluster_cluster):
    result = fio_runner(GfapiTarget(r3.name, gluster_cluster.nodes[0].address), FioJob("randread", "8M", RUNTIME_S))
    _check_result(result, "read")
    private_log = result.out_dir / "tmp" / "fio_gfapi.log"
    assert private_log.exists() and private_log.stat().st_size > 0
    assert r3.name in private_log.read_text()
    # the volume really holds fio's file (gfapi wrote it, no FUSE involved)
    assert any((Path(b.path) / "fio.dat").exists() for b in r3.bricks)


def test_gfapi_to_an_unreachable_server_is_a_clear_error_before_fio_runs(fio_runner, r3, gluster_cluster):
    nowhere = gluster_cluster.clients[-1].address  # a host with no glusterd
    with pytest.raises(ConfigError, match=f"glusterd for gfapi volume {r3.name} at {nowhere}:24007 is unreachable"):
        fio_runner(GfapiTarget(r3.name, nowhere), FioJob("randread", "8M", RUNTIME_S))


def test_a_file_target_that_is_not_mounted_is_a_clear_error(fio_runner, mount_factory, r3, gluster_cluster):
    mount = mount_factory(r3)
    gluster_cluster.unmount(mount)
    with pytest.raises(ConfigError, match=f"{mount.path} is not a glusterfs mount in client {mount.client.name} "
                                          r"\(nothing is mounted there\)"):
        fio_runner(FileTarget(mount), FioJob("randread", "8M", RUNTIME_S))


def test_phase_percentiles_from_points_and_from_tool_windows():
    from harness.timeseries import Interval, Point, TimeSeries, bucket, phases_from_marks

    points = tuple(Point(100.0 + i * 0.1, float(i % 10) + (50.0 if 20 <= i < 30 else 0.0), ok=i != 25)
                   for i in range(40))
    phases = phases_from_marks([("before", 100.0), ("during_fault", 102.0), ("after", 103.0)], 104.0)
    before, during, after = phase_percentiles(TimeSeries("s", points), phases)
    assert (before.count, during.count, after.count) == (20, 10, 10)
    assert during.failures == 1 and before.failures == 0
    assert before.percentiles_ms["p50"] == 4.0 and during.percentiles_ms["p50"] >= 50.0  # the spike
    assert before.exact and during.rate_per_s == pytest.approx(10.0)
    assert [i.count for i in bucket(TimeSeries("s", points), 1.0)] == [10, 10, 10, 10]
    windows = TimeSeries("w", intervals=(Interval(100, 101, 10, 10, {"p50": 2.0}), Interval(101, 102, 30, 30, {"p50": 4.0})))
    (whole,) = phase_percentiles(windows, [Phase("all", 100, 102)])
    assert whole.count == 40 and whole.percentiles_ms["p50"] == pytest.approx(3.5) and not whole.exact
    with pytest.raises(ConfigError, match="ends .* before it starts"):
        Phase("bad", 2.0, 1.0)
