"""fio from a client host against a FUSE file, a loop block device, or libgfapi.

Job files in workloads/*.fio hold the workload (pattern, block size, SIZE and RUNTIME from the
environment); this module adds the target's options on the command line, runs fio in the client
host, and parses its JSON and per-I/O completion-latency log. Latencies are reported in
milliseconds (fields say `_ms`), bandwidth in KiB/s, IOPS in operations per second.

fio runs in a folder of its own in the client host (a pod's filesystem is not this host's): the job
file is sent there, and fio's outputs are brought back into a run folder here through the client's
file API (harness.mountfiles), on every provider alike. fio's gfapi engine always logs to
/tmp/fio_gfapi.log; every fio run gets a private mount namespace with its own folder bound on /tmp,
so concurrent runs never share that file (it is brought back beside the run's results).
"""
from __future__ import annotations

import itertools
import json
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

from ..cluster import ClientHost
from ..errors import ConfigError, HarnessError
from ..mount import FuseMount
from ..timeseries import DEFAULT_QUANTILES, Point, TimeSeries
from .fioclient import LAT_LOG, PROGRESS_FILE, client_folder, status_text
from .nsenter import check_reachable

WORKLOADS_DIR = Path(__file__).resolve().parents[2] / "workloads"
DOC_START_RE = re.compile(r"^\{", re.MULTILINE)
SIZE_RE = re.compile(r"^([0-9]+)([KMGT]?)$", re.IGNORECASE)
UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}
GLUSTERD_PORT = 24007
FIO_SLACK_S = 120.0  # layout of the file and start-up, on top of the runtime
# fio's status every STATUS_INTERVAL (fioclient.PROGRESS_FILE); its final report alone is kept as fio.json.
STATUS_INTERVAL = "250ms"
# Run in the result folder ($1) so fio's outputs are relative paths that stay reachable even
# when that folder is itself under /tmp, which the bind then hides.
PRIVATE_TMP = 'cd "$1" && mount --bind tmp /tmp && shift && exec "$@"'
_seq = itertools.count(1)


def known_workloads() -> list[str]:
    return sorted(p.stem for p in WORKLOADS_DIR.glob("*.fio"))


def parse_size(size: str) -> int:
    """Bytes of a fio size like 64M (binary units); ConfigError for anything else or zero."""
    match = SIZE_RE.match(str(size).strip())
    if not match or int(match.group(1)) <= 0:
        raise ConfigError(f"fio size {size!r} must be a positive size like 64M, 512K or 1G")
    return int(match.group(1)) * UNITS[match.group(2).upper()]


@dataclass(frozen=True)
class FioJob:
    """What to run: a workload file by name, its SIZE and RUNTIME, and per-target extras."""

    workload: str
    size: str = "64M"
    runtime_s: int = 5
    iodepth: int = 1
    log_avg_msec: int = 0  # 0: one latency point per I/O (exact percentiles per phase)
    start_delay_s: int = 0  # fio's startdelay: the job waits this long before its first I/O

    def __post_init__(self) -> None:
        if not (WORKLOADS_DIR / f"{self.workload}.fio").is_file():
            raise ConfigError(f"unknown fio workload {self.workload!r}; known workloads: "
                              f"{', '.join(known_workloads())} (files in {WORKLOADS_DIR})")
        parse_size(self.size)
        if not isinstance(self.runtime_s, int) or self.runtime_s <= 0:
            raise ConfigError(f"fio runtime must be a positive whole number of seconds, got {self.runtime_s!r}")
        if self.iodepth < 1:
            raise ConfigError(f"fio iodepth must be >= 1, got {self.iodepth}")
        if self.log_avg_msec < 0:
            raise ConfigError(f"log_avg_msec must be >= 0, got {self.log_avg_msec}")
        if self.start_delay_s < 0:
            raise ConfigError(f"start_delay_s must be >= 0, got {self.start_delay_s}")

    @property
    def job_file(self) -> Path:
        return WORKLOADS_DIR / f"{self.workload}.fio"

    @property
    def env(self) -> list[str]:
        return [f"SIZE={self.size}", f"RUNTIME={self.runtime_s}"]


@dataclass(frozen=True)
class FileTarget:
    """A file on a FUSE mount, through the page cache like an application's I/O."""

    mount: FuseMount
    name: str = "fio.dat"
    direct: bool = False  # O_DIRECT: every I/O reaches the bricks (no page-cache hits)
    kind = "file"

    def check(self, client: ClientHost) -> None:
        self.mount.require_in(client, "fio")

    def options(self, job: FioJob) -> list[str]:
        return [f"--filename={self.mount.path / self.name}", "--ioengine=psync", *(["--direct=1"] if self.direct else [])]


@dataclass(frozen=True)
class BlockTarget:
    """A loop device over a file on the volume (see block.py), with direct I/O through libaio."""

    device: str
    kind = "block"

    def check(self, client: ClientHost) -> None:
        if not client.run(["test", "-b", self.device], timeout=15, check=False).ok:
            raise ConfigError(f"block device {self.device} does not exist in client {client.name}; attach it with "
                              f"block.attach_loop first")

    def options(self, job: FioJob) -> list[str]:
        return [f"--filename={self.device}", "--ioengine=libaio", "--direct=1", f"--iodepth={job.iodepth}"]


@dataclass(frozen=True)
class GfapiTarget:
    """libgfapi straight to the volume (no FUSE); the sync engine, since gfapi_async's completion
    latency percentiles are meaningless."""

    volume: str
    server: str  # a node address to fetch the volfile from
    name: str = "fio.dat"
    kind = "gfapi"

    def check(self, client: ClientHost) -> None:
        check_reachable(client, self.server, GLUSTERD_PORT, f"glusterd for gfapi volume {self.volume}")

    def options(self, job: FioJob) -> list[str]:
        return ["--ioengine=gfapi", f"--volume={self.volume}", f"--brick={self.server}", f"--filename={self.name}"]


Target = FileTarget | BlockTarget | GfapiTarget


@dataclass(frozen=True)
class Latency:
    """Completion-latency percentiles, milliseconds."""

    p50_ms: float
    p95_ms: float
    p99_ms: float
    p99_9_ms: float
    mean_ms: float
    max_ms: float


@dataclass(frozen=True)
class DirectionStats:
    iops: float
    bw_kib_s: float
    ios: int
    clat: Latency


@dataclass(frozen=True)
class FioResult:
    workload: str
    target: str
    read: DirectionStats | None
    write: DirectionStats | None
    series: dict[str, TimeSeries] = field(default_factory=dict)  # "read" / "write"
    started: float = 0.0
    ended: float = 0.0
    out_dir: Path | None = None
    argv: tuple[str, ...] = ()

    @property
    def iops(self) -> float:
        return sum(d.iops for d in (self.read, self.write) if d)

    def summary(self) -> dict:
        out: dict = {"workload": self.workload, "target": self.target, "iops": self.iops, "units":
                     {"iops": "ops/s", "bw": "KiB/s", "latency": "ms (completion latency)"}}
        for name, d in (("read", self.read), ("write", self.write)):
            if d:
                out[name] = {"iops": d.iops, "bw_kib_s": d.bw_kib_s, "ios": d.ios, "clat_ms": d.clat.__dict__}
        return out


def fio_argv(job: FioJob, target: Target) -> list[str]:
    """The fio command (without namespace entry), to run in the result folder: the job file (sent
    there by run_fio) and the outputs are relative to it. The benchmark runs this same argv bare."""
    return [
        "env", *job.env, "fio", *target.options(job),
        *([f"--startdelay={job.start_delay_s}"] if job.start_delay_s else []),
        "--output-format=json", f"--output={PROGRESS_FILE}", f"--status-interval={STATUS_INTERVAL}",
        "--write_lat_log=lat", f"--log_avg_msec={job.log_avg_msec}", "--log_unix_epoch=1",
        "--percentile_list=" + ":".join(f"{q:g}" for q in DEFAULT_QUANTILES),
        job.job_file.name,
    ]


def run_fio(client: ClientHost, target: Target, job: FioJob, out_dir: Path, timeout: float | None = None) -> FioResult:
    """Run `job` against `target` from `client`; raise CommandError (with fio's output) if fio fails.

    Results land in a fresh folder under out_dir: progress.json, fio.json, lat_clat.1.log and, for
    gfapi, tmp/fio_gfapi.log. While it runs, fio_ops_completed(out_dir) counts the operations it has
    completed.
    """
    target.check(client)  # before anything runs
    run_dir = out_dir / f"fio-{next(_seq)}-{job.workload}-{target.kind}"
    run_dir.mkdir(parents=True)
    argv = fio_argv(job, target)
    with client_folder(client, run_dir, job.job_file) as there:
        started = time.time()
        client.run(["unshare", "-m", "--propagation", "private", "sh", "-c", PRIVATE_TMP, "sh", there, *argv],
                   timeout=timeout or job.runtime_s + FIO_SLACK_S)
        ended = time.time()
    return parse_result(job.workload, target.kind, run_dir, started, ended, tuple(argv))


def _latency(clat: dict) -> Latency:
    pct = {float(k): v / 1e6 for k, v in clat.get("percentile", {}).items()}

    def at(q: float) -> float:
        if q not in pct:
            raise HarnessError(f"fio JSON lacks the p{q:g} completion latency; was --percentile_list changed?")
        return pct[q]

    return Latency(at(50), at(95), at(99), at(99.9), clat["mean"] / 1e6, clat["max"] / 1e6)


def parse_json(data: dict) -> tuple[DirectionStats | None, DirectionStats | None]:
    """Read and write stats of the first (group-reported) job; a direction with no I/O is None."""
    jobs = data.get("jobs") or []
    if not jobs:
        raise HarnessError("fio JSON has no jobs; fio did not run the workload")
    job = jobs[0]
    if job.get("error"):
        raise HarnessError(f"fio job {job.get('jobname')} ended with error {job['error']}")
    out = []
    for direction in ("read", "write"):
        d = job[direction]
        out.append(DirectionStats(d["iops"], d["bw"], d["total_ios"], _latency(d["clat_ns"])) if d["total_ios"] else None)
    return out[0], out[1]


def parse_lat_log(path: Path, name: str) -> dict[str, TimeSeries]:
    """fio latency log lines `time_ms, latency_ns, direction, bs, offset` (log_unix_epoch=1) into
    one series per direction, t in Unix seconds and latency in ms."""
    points: dict[int, list[Point]] = {0: [], 1: []}
    with open(path) as fh:
        for line in fh:
            parts = line.split(",")
            if len(parts) < 3:
                continue
            direction = int(parts[2])
            if direction in points:
                points[direction].append(Point(int(parts[0]) / 1000.0, int(parts[1]) / 1e6))
    labels = {0: "read", 1: "write"}
    return {labels[d]: TimeSeries(f"{name}-{labels[d]}", tuple(pts), source="fio clat log")
            for d, pts in points.items() if pts}


def last_json_document(text: str) -> dict | None:
    """fio's latest whole JSON document: each begins with "{" at the start of a line (the lines inside
    are indented); None while the first is still being written."""
    decoder = json.JSONDecoder()
    for found in reversed(list(DOC_START_RE.finditer(text))):
        try:
            return decoder.raw_decode(text, found.start())[0]
        except ValueError:
            continue  # the document still being written
    return None


def fio_ops_completed(out_dir: Path) -> int:
    """I/Os completed so far by every fio run_fio started under out_dir, from fio's latest status
    (read in the client while fio runs there): run_phases' `measured`, so "before" starts at fio's
    first operation, however late that is."""
    total = 0
    for run_dir in out_dir.glob("fio-*"):
        text = status_text(run_dir)
        doc = last_json_document(text) if text else None
        jobs = (doc or {}).get("jobs") or [{}]
        total += sum(jobs[0].get(d, {}).get("total_ios", 0) for d in ("read", "write"))
    return total


def parse_result(workload: str, target: str, run_dir: Path, started: float, ended: float,
                 argv: Sequence[str] = ()) -> FioResult:
    try:
        data = last_json_document((run_dir / PROGRESS_FILE).read_text())  # the final report
    except FileNotFoundError as exc:
        raise HarnessError(f"fio left no output in {run_dir} ({exc}); see its output above") from exc
    if data is None:
        raise HarnessError(f"fio left no readable JSON in {run_dir / PROGRESS_FILE}; see its output above")
    (run_dir / "fio.json").write_text(json.dumps(data, indent=1))
    read, write = parse_json(data)
    log = run_dir / LAT_LOG
    series = parse_lat_log(log, f"{workload}-{target}") if log.exists() else {}
    return FioResult(workload, target, read, write, series, started, ended, run_dir, tuple(argv))
