"""Real locust runs over the S3 gateway, as a subprocess in a client host; CSV parsing."""
from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from datetime import datetime

import pytest

from harness.errors import ConfigError, HarnessError
from harness.timeseries import Phase, phase_percentiles
from harness.workloads.locust import LOCUSTFILE, LocustJob, parse_final_stats, parse_history, run_locust
from harness.workloads.s3gateway import S3Endpoint

OPERATIONS = {"GET", "PUT", "HEAD", "LIST", "DELETE", "MULTIPART"}


def test_locust_over_s3_with_four_users(gluster_cluster, s3_gateway, run_dir):
    client = gluster_cluster.clients[-1]
    result = run_locust(client, s3_gateway.endpoint(client), LocustJob(users=4, run_time_s=20), run_dir.path / "locust")
    # correctness only (rates belong to benchmarks/workloads.py): requests ran, none failed
    assert result.total.requests > 0, result.summary()
    assert result.total.failures == 0, result.failures
    assert "PUT" in result.per_request and set(result.per_request) <= OPERATIONS
    assert 0 < result.total.p50_ms <= result.total.p99_ms
    # the time series: one point per request from the samples, intervals from the history CSV
    series = result.series
    # both come from the same events.request, and the totals are written after the users stopped
    assert len(series.points) == result.total.requests
    assert series.intervals and all(i.end > i.start for i in series.intervals)
    (whole,) = phase_percentiles(series, [Phase("run", result.started, result.ended + 1)])
    assert whole.count == len(series.points) and whole.percentiles_ms["p99"] is not None
    # the objects went through the gateway onto the volume
    assert list((Path(s3_gateway.devices) / "d1" / "objects").rglob("*.data"))  # the mount is here too


def test_a_slow_locustfile_import_does_not_shorten_the_run_time(gluster_cluster, s3_gateway, tmp_path):
    # A 3 s "after" round once ended in 0.9 s with no request: locust's start-up blocked 2.1 s and
    # gevent timed --run-time from its loop's clock cached before that.
    # The 2 s blocking sleep below must not come off the 3 s.
    slow = tmp_path / "locustfile_slow_import.py"
    slow.write_text("from gevent.monkey import get_original\n"  # a blocking sleep, like a slow import
                    "get_original('time', 'sleep')(2)\n"
                    f"exec(compile(open({str(LOCUSTFILE)!r}).read(), {str(LOCUSTFILE)!r}, 'exec'))\n")
    client = gluster_cluster.clients[-1]
    result = run_locust(client, s3_gateway.endpoint(client), LocustJob(run_time_s=3), tmp_path / "locust", slow)
    log = (result.out_dir / "locust.log").read_text()
    stamps = {event: datetime.strptime(re.search(rf"\[([^]]+)\] [^\n]*{event}", log)[1], "%Y-%m-%d %H:%M:%S,%f")
              for event in ("Run time limit set", "--run-time limit reached")}
    ran_s = (stamps["--run-time limit reached"] - stamps["Run time limit set"]).total_seconds()
    assert ran_s >= 2.5, f"a 3 s run lasted {ran_s:.2f} s; locust.log:\n{log}"
    assert result.total.requests > 0, result.summary()


def test_an_unreachable_endpoint_is_refused_before_locust_starts(gluster_cluster, tmp_path):
    client = gluster_cluster.clients[-1]
    dead = S3Endpoint(f"http://{gluster_cluster.clients[0].address}:8080", "test:tester", "testing")
    with pytest.raises(ConfigError, match=r"S3 endpoint at 198\.18\.\d+\.101:8080 is unreachable from client2"):
        run_locust(client, dead, LocustJob(run_time_s=1), tmp_path)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("kwargs, message", [
    ({"users": 0}, "users must be >= 1"),
    ({"run_time_s": -5}, "run time must be a positive whole number"),
    ({"object_size": -1}, "object size must be >= 0"),
    ({"bucket": "b"}, "must be 3 to 63 characters"),
])
def test_bad_locust_parameters_are_one_clear_error(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        LocustJob(**kwargs)


def test_the_locustfile_runs_by_hand_and_says_what_is_missing():
    out = subprocess.run([sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless", "-u", "1",
                          "--run-time", "1s"], capture_output=True, text=True, timeout=60,
                         env={"PATH": "/usr/bin:/bin"})
    assert out.returncode != 0 and "S3_ENDPOINT is not set" in out.stderr + out.stdout


def test_final_stats_and_history_csv_parsing(tmp_path):
    final = tmp_path / "s.json"
    entry = {"start_time": 100.0, "last_request_timestamp": 104.0, "num_none_requests": 0, "num_failures": 1}
    final.write_text(json.dumps([
        {**entry, "name": "GET", "num_requests": 10, "response_times": {"5": 5, "6": 3, "12": 1, "20": 1}},
        {**entry, "name": "PUT", "num_requests": 10, "num_failures": 0, "start_time": 102.0,
         "response_times": {"30": 10}}]))
    total, per = parse_final_stats(final)
    assert set(per) == {"GET", "PUT"}
    assert (per["GET"].requests, per["GET"].failures, per["GET"].rps) == (10, 1, 2.5)
    # locust's rule, walking down from the slowest until at most count - int(count * q) remain
    assert (per["GET"].p50_ms, per["GET"].p95_ms, per["GET"].p99_ms) == (6, 20, 20)
    assert (total.requests, total.failures, total.rps, total.p50_ms, total.p99_ms) == (20, 1, 5.0, 30, 30)
    final.write_text("[]")
    with pytest.raises(HarnessError, match="holds no request"):
        parse_final_stats(final)
    history = tmp_path / "s_stats_history.csv"
    header = ("Timestamp,User Count,Type,Name,Requests/s,Failures/s,50%,66%,75%,80%,90%,95%,98%,99%,99.9%,99.99%,"
              "100%,Total Request Count,Total Failure Count\n")
    history.write_text(header + "100,1,,Aggregated,0,0,N/A,N/A,N/A,N/A,N/A,N/A,N/A,N/A,N/A,N/A,N/A,0,0\n"
                       "101,4,,Aggregated,30,0,4,5,5,6,7,8,9,10,11,12,13,30,0\n"
                       "102,4,,Aggregated,40,5,4,5,5,6,7,8,9,30,31,32,33,70,5\n")
    intervals = parse_history(history)
    assert [(i.start, i.end, i.count, i.failures) for i in intervals] == [(100, 101, 30, 0), (101, 102, 40, 5)]
    assert intervals[1].percentiles_ms == {"p50": 4, "p95": 8, "p99": 30, "p99.9": 31}
