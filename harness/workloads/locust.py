"""locust over S3, run in a client host (its folder there: harness.workloads.clientdir), its
outputs brought back here and parsed.

Never `import locust` here: it monkey-patches the importing process with gevent. The locustfile
(workloads/locustfile_s3.py) runs headless with `--csv --csv-full-history --json-file`; the
history CSV becomes TimeSeries intervals, the locustfile's per-request samples become its points,
and the totals come from the JSON: locust writes it after its users stopped, whereas the stats CSV
is rewritten once a second and misses the run's last second.
"""
from __future__ import annotations

import csv
import itertools
import json
import sys
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path

from ..cluster import ClientHost
from ..errors import ConfigError, HarnessError
from ..timeseries import Interval, Point, TimeSeries
from . import s3compat
from .clientdir import ClientFolder, client_folder
from .nsenter import check_reachable
from .s3gateway import S3Endpoint

LOCUSTFILE = Path(__file__).resolve().parents[2] / "workloads" / "locustfile_s3.py"
S3COMPAT = Path(s3compat.__file__)
# A python with locust and boto3 on its path, in the images `make k8s` builds (their Swift keeps
# Debian's python3 and its libraries: harness.providers.k8s_local.wheels).
LOCUST_PYTHON = "harness-python3"
# The first interpreter named that has locust and boto3 (found without importing them: locust's
# import alone takes a second of CPU).
FIND_PYTHON = ('for py; do "$py" -c "import importlib.util as u, sys; '
               'sys.exit(not (u.find_spec(\'locust\') and u.find_spec(\'boto3\')))" 2>/dev/null && exec echo "$py"; '
               'done; exit 1')
OUTPUTS = ("locust.json", "locust_stats.csv", "locust_stats_history.csv", "locust_failures.csv",
           "locust_exceptions.csv", "samples.csv", "locust.log")
# Run folder here -> its client folder while locust runs: its samples are counted there.
_running: dict[Path, ClientFolder] = {}
_running_lock = threading.Lock()
LOCUST_SLACK_S = 90.0
HISTORY_QUANTILES = ("50%", "95%", "99%", "99.9%")
_seq = itertools.count(1)


@dataclass(frozen=True)
class LocustJob:
    users: int = 4
    spawn_rate: float = 4.0
    run_time_s: int = 10
    object_size: int = 4096
    bucket: str = "locust"
    wait_s: float = 0.0  # pause of each user between requests; 0 drives the gateway flat out

    def __post_init__(self) -> None:
        if self.users < 1:
            raise ConfigError(f"locust users must be >= 1, got {self.users}")
        if self.spawn_rate <= 0:
            raise ConfigError(f"locust spawn rate must be > 0 users/s, got {self.spawn_rate}")
        if not isinstance(self.run_time_s, int) or self.run_time_s <= 0:
            raise ConfigError(f"locust run time must be a positive whole number of seconds, got {self.run_time_s!r}")
        if self.object_size < 0:
            raise ConfigError(f"S3 object size must be >= 0 bytes, got {self.object_size}")
        if self.wait_s < 0:
            raise ConfigError(f"locust wait between requests must be >= 0 s, got {self.wait_s}")
        if not 3 <= len(self.bucket) <= 63:
            raise ConfigError(f"S3 bucket name {self.bucket!r} must be 3 to 63 characters")


@dataclass(frozen=True)
class RequestStats:
    """One entry of locust's final statistics; latencies in ms, rates per second."""

    name: str
    requests: int
    failures: int
    rps: float
    p50_ms: float | None
    p95_ms: float | None
    p99_ms: float | None
    p99_9_ms: float | None


@dataclass(frozen=True)
class LocustResult:
    total: RequestStats
    per_request: dict[str, RequestStats]
    series: TimeSeries
    failures: list[dict] = field(default_factory=list)
    out_dir: Path | None = None
    started: float = 0.0
    ended: float = 0.0

    def summary(self) -> dict:
        return {"total": self.total.__dict__, "per_request": {k: v.__dict__ for k, v in self.per_request.items()},
                "failures": self.failures[:10], "units": {"latency": "ms", "rps": "requests/s"}}


def _num(value: str | None) -> float | None:
    if value in (None, "", "N/A"):
        return None
    return float(value)


def _percentile(histogram: dict[int, int], count: int, q: float) -> float | None:
    """locust's own rule (stats.calculate_response_time_percentile) over its rounded histogram."""
    if count == 0:
        return None
    seen = 0
    for latency in sorted(histogram, reverse=True):
        seen += histogram[latency]
        if count - seen <= int(count * q):
            return float(latency)
    return 0.0


def _request_stats(name: str, entries: list[dict]) -> RequestStats:
    histogram: dict[int, int] = {}
    for entry in entries:
        for latency, n in entry["response_times"].items():
            histogram[int(latency)] = histogram.get(int(latency), 0) + n
    requests = sum(e["num_requests"] for e in entries)
    start = min(e["start_time"] for e in entries)
    last = max((e["last_request_timestamp"] or start) for e in entries)
    return RequestStats(name, requests, sum(e["num_failures"] for e in entries),
                        requests / (last - start) if last > start else 0.0,
                        *(_percentile(histogram, requests, q) for q in (0.5, 0.95, 0.99, 0.999)))


def parse_final_stats(path: Path) -> tuple[RequestStats, dict[str, RequestStats]]:
    """locust's `--json-file` (one entry per request name) as the aggregate and per-name stats."""
    entries = json.loads(path.read_text())
    if not entries:
        raise HarnessError(f"{path} holds no request; did locust run any?")
    per_request = {e["name"]: _request_stats(e["name"], [e]) for e in entries}
    return _request_stats("Aggregated", entries), per_request


def parse_history(path: Path) -> list[Interval]:
    """Aggregated rows of `--csv-full-history` as intervals between successive timestamps."""
    rows = [r for r in csv.DictReader(open(path)) if r["Name"] == "Aggregated"]
    out, prev_t, prev_total, prev_fail = [], None, 0, 0
    for row in rows:
        t, total, fail = float(row["Timestamp"]), int(row["Total Request Count"]), int(row["Total Failure Count"])
        if prev_t is not None and t > prev_t:
            pct = {f"p{q.rstrip('%')}": v for q in HISTORY_QUANTILES if (v := _num(row.get(q))) is not None}
            out.append(Interval(prev_t, t, total - prev_total, _num(row["Requests/s"]) or 0.0, pct, fail - prev_fail))
        prev_t, prev_total, prev_fail = t, total, fail
    return out


def parse_samples(path: Path) -> list[Point]:
    points = []
    if path.exists():
        for line in path.read_text().splitlines():
            t, latency, _name, ok = line.split(",")
            points.append(Point(float(t), float(latency), ok == "1"))
    return points


def requests_completed(out_dir: Path) -> int:
    """Requests finished by the locust runs under out_dir so far: a run's samples brought back here,
    or, while it runs, its samples file counted in the client."""
    with _running_lock:
        running = {run_dir: folder for run_dir, folder in _running.items() if run_dir.parent == out_dir}
    total = 0
    for run_dir in out_dir.glob("locust-*"):
        samples = run_dir / "samples.csv"
        if samples.exists():
            total += samples.read_bytes().count(b"\n")
        elif run_dir in running:
            folder = running[run_dir]
            counted = folder.client.run(["sh", "-c", 'cat "$1" 2>/dev/null | wc -l', "sh", f"{folder.path}/samples.csv"],
                                        timeout=15, check=False)
            total += int(counted.stdout.strip() or 0)
    return total


def _locust_python(client: ClientHost) -> str:
    """The client's interpreter that has locust and boto3: this machine's venv where the client shares
    its files (the local provider), else the image's."""
    found = client.run(["sh", "-c", FIND_PYTHON, "sh", sys.executable, LOCUST_PYTHON, "python3"], timeout=30,
                       check=False)
    if not found.ok:
        raise ConfigError(f"no python with locust and boto3 in client {client.name}; its image needs them "
                          f"(the images `make k8s` builds have them)")
    return found.stdout.strip()


def run_locust(client: ClientHost, endpoint: S3Endpoint, job: LocustJob, out_dir: Path,
               locustfile: Path = LOCUSTFILE) -> LocustResult:
    """Run locust headless in `client` against `endpoint`, its outputs brought back into a new folder
    of out_dir; ConfigError if the endpoint cannot be reached from there or the client has no locust
    (checked before locust starts)."""
    url = urllib.parse.urlsplit(endpoint.url)
    if url.scheme not in ("http", "https") or not url.hostname:
        raise ConfigError(f"S3 endpoint {endpoint.url!r} must be an http:// or https:// URL")
    if not locustfile.is_file():
        raise ConfigError(f"locustfile {locustfile} does not exist")
    check_reachable(client, url.hostname, url.port or (443 if url.scheme == "https" else 80), "S3 endpoint")
    python = _locust_python(client)
    run_dir = out_dir / f"locust-{next(_seq)}"
    run_dir.mkdir(parents=True)
    with client_folder(client, "harness-locust") as folder:
        # locust puts the locustfile's folder on sys.path: s3compat beside it is importable there.
        folder.send({locustfile.name: locustfile.read_bytes(), "s3compat.py": S3COMPAT.read_bytes()})
        there = folder.path
        env = [f"S3_ENDPOINT={endpoint.url}", f"S3_ACCESS_KEY={endpoint.access_key}",
               f"S3_SECRET_KEY={endpoint.secret_key}", f"S3_BUCKET={job.bucket}", f"S3_OBJECT_SIZE={job.object_size}",
               f"S3_WAIT_S={job.wait_s}", f"LOCUST_SAMPLES={there}/samples.csv"]
        argv = ["env", *env, python, "-m", "locust", "-f", f"{there}/{locustfile.name}", "--headless",
                "-u", str(job.users), "-r", str(job.spawn_rate), "--run-time", f"{job.run_time_s}s",
                "--csv", f"{there}/locust", "--csv-full-history", "--json-file", f"{there}/locust", "--only-summary",
                "--stop-timeout", "5", "--exit-code-on-error", "0", "--logfile", f"{there}/locust.log"]
        with _running_lock:
            _running[run_dir] = folder
        try:
            started = time.time()
            result = client.run(argv, timeout=job.run_time_s + LOCUST_SLACK_S, check=False)
            ended = time.time()
            (run_dir / "output.txt").write_text(result.stdout + result.stderr)
            folder.bring_back(run_dir, OUTPUTS, optional=OUTPUTS)
        finally:
            with _running_lock:
                del _running[run_dir]
    final_stats = run_dir / "locust.json"
    if not result.ok or not final_stats.exists():
        raise HarnessError(f"locust on {client.name} exited {result.returncode} without stats; output tail:\n"
                           f"{result.tail(result.stdout + result.stderr)}")
    total, per_request = parse_final_stats(final_stats)
    failures_csv = run_dir / "locust_failures.csv"
    failures = list(csv.DictReader(open(failures_csv))) if failures_csv.exists() else []
    series = TimeSeries(f"locust-s3-{job.users}u", tuple(parse_samples(run_dir / "samples.csv")),
                        tuple(parse_history(run_dir / "locust_stats_history.csv")), source="locust")
    return LocustResult(total, per_request, series, failures, run_dir, started, ended)
