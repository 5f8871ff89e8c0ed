"""The provisioning storm: N volumes provisioned the way a dynamic provisioner does, then deleted.

`run_storm(cluster, StormPlan(...))` creates N volumes with a fixed concurrency (create, set the
options, start, wait until every brick is online; every k-th volume is also FUSE-mounted from a
client and unmounted again to prove it is mount-ready), samples glusterd and brick memory (RSS from
/proc) and process counts as N grows, deletes every volume it made, and returns a StormResult:
per-volume provisioning latency (p50/p95/p99/max), volumes per minute, errors, the cost-vs-N curve
and anything left behind. `cluster.brick-multiplex` is set for the storm and reset afterwards.

Latency of one volume is from its `volume create` to every brick online (a provisioner's service
time; time spent queued behind the concurrency limit is not included). The capacity check runs
before anything changes, so a storm that cannot fit is refused with the arithmetic.
"""
from __future__ import annotations

import logging
import math
import threading
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Callable

from . import capacity
from .errors import ConfigError, HarnessError
from .gluster import GlusterCLI
from .storm_cleanup import delete_volumes, short_error, storm_leftovers, sweep_storm_volumes
from .storm_cost import Sample, sample_cost
from .timeseries import percentile
from .volume import Volume, VolumeSpec, VolumeType, create_volume

if TYPE_CHECKING:
    from .cluster import Cluster

log = logging.getLogger("harness.storm")

MULTIPLEX_OPTION = "cluster.brick-multiplex"
MAX_BRICKS_OPTION = "cluster.max-bricks-per-process"
# glusterd takes per-volume locks, so provisions of different volumes do overlap, but most of
# the work runs under its one big lock and the bricks start on the same 2 cores. Measured here
# (30 replica-3 volumes, loaded machine): 1/2/4/8 concurrent provisions gave 107/96/123/73
# volumes/min with multiplexing, 71/49/77/87 without, while each volume's own time (what the p99
# gate measures) grows with the concurrency: p50 0.43/0.76/1.48/5.25 s with multiplexing. 100
# multiplexed volumes at 4 on a machine loaded 20 deep gave p99 13.8 s. 2 keeps most of the
# throughput at half the latency.
DEFAULT_CONCURRENCY = 2
DEFAULT_SAMPLES = 10
DEFAULT_MOUNT_EVERY = 1
DEFAULT_MAX_ERRORS = 5
# Used when the gates file (gates/thresholds.toml, key max_provision_p99_s) is absent or lacks the key.
DEFAULT_MAX_PROVISION_P99_S = 10.0
STORM_SCENARIO = "storm"  # the scenario id of storm records in reports and gates


@dataclass(frozen=True)
class StormPlan:
    """What to provision. Validated on creation (ConfigError), before anything changes."""

    volumes: int
    concurrency: int = DEFAULT_CONCURRENCY
    brick_multiplex: bool = False
    spec: VolumeSpec = field(default_factory=lambda: VolumeSpec(VolumeType.REPLICA3))
    mount_every: int = DEFAULT_MOUNT_EVERY  # FUSE-mount every k-th volume; 0: never
    samples: int = DEFAULT_SAMPLES  # curve points (besides N=0)
    max_errors: int = DEFAULT_MAX_ERRORS  # stop provisioning more once this many failed
    prefix: str = "storm"
    # cluster.max-bricks-per-process while multiplexing (None: gluster's default of 250, capped
    # by what the open-files limit lets one process hold, see harness.capacity).
    bricks_per_process: int | None = None
    # Delete only the last k volumes made (timed: the cost of a delete at full N) and leave the rest
    # to the cluster's teardown. For benchmarks at sizes where deleting all takes long (1000
    # volumes: ~5 s each, ~40 min); None deletes every volume.
    delete_sample: int | None = None

    def __post_init__(self) -> None:
        if self.volumes < 1:
            raise ConfigError(f"a storm needs at least 1 volume, got {self.volumes}")
        if self.concurrency < 1:
            raise ConfigError(f"storm concurrency must be >= 1, got {self.concurrency}")
        if self.mount_every < 0 or self.samples < 1 or self.max_errors < 1:
            raise ConfigError(
                f"mount_every must be >= 0 (got {self.mount_every}), samples >= 1 (got {self.samples}) "
                f"and max_errors >= 1 (got {self.max_errors})"
            )
        if self.delete_sample is not None and self.delete_sample < 1:
            raise ConfigError(f"delete_sample must be >= 1 (or None to delete every volume), got {self.delete_sample}")
        if self.bricks_per_process is not None and self.bricks_per_process < 1:
            raise ConfigError(f"bricks_per_process must be >= 1, got {self.bricks_per_process}")
        if not self.prefix.isalnum():
            raise ConfigError(f"storm volume prefix {self.prefix!r} may hold only letters and digits")

    @property
    def label(self) -> str:
        return f"{self.volumes}-mux-{'on' if self.brick_multiplex else 'off'}"

    @property
    def max_bricks_per_process(self) -> int:
        """The cluster.max-bricks-per-process the storm sets while multiplexing."""
        if self.bricks_per_process is not None:
            return self.bricks_per_process
        return min(capacity.MEASURED.max_bricks_per_process, capacity.bricks_per_process_limit())

    def demand(self, nodes: int, volumes: int | None = None) -> capacity.Demand:
        """What this storm (or `volumes` of it) asks of the machine, for harness.capacity."""
        return capacity.Demand(nodes, self.volumes if volumes is None else volumes, self.spec.brick_count,
                               self.brick_multiplex, mounts=1 if self.mount_every else 0,
                               concurrency=self.concurrency, bricks_per_process=self.max_bricks_per_process)

    def volume_name(self, i: int) -> str:
        return f"{self.prefix}-{i:05d}"

    def checkpoints(self) -> list[int]:
        """Volume counts at which the curve is sampled: `samples` evenly spaced points ending at N."""
        step = math.ceil(self.volumes / self.samples)
        return sorted({min(self.volumes, k * step) for k in range(1, self.samples + 1)})


@dataclass(frozen=True)
class VolumeTiming:
    name: str
    ok: bool
    seconds: float  # create -> every brick online
    phases: dict[str, float]
    mount_s: float | None = None  # mount -> every child up (sampled volumes only)
    error: str | None = None


@dataclass
class StormResult:
    plan: StormPlan
    cluster: str
    nodes: int
    volumes_before: int  # volumes the cluster already had (not the storm's)
    timings: list[VolumeTiming]
    curve: list[Sample]
    create_s: float
    delete_s: float
    leftovers: list[str]
    max_bricks_per_process: str | None
    delete_errors: list[str] = field(default_factory=list)
    delete_latencies: list[float] = field(default_factory=list)
    kept_for_teardown: int = 0  # volumes left to the cluster's teardown (plan.delete_sample)

    @property
    def latencies(self) -> list[float]:
        return [t.seconds for t in self.timings if t.ok]

    @property
    def errors(self) -> list[str]:
        return [f"{t.name}: {t.error}" for t in self.timings if not t.ok] + self.delete_errors

    @property
    def created(self) -> int:
        return len(self.latencies)

    @property
    def volumes_per_min(self) -> float:
        return 60.0 * self.created / self.create_s if self.create_s > 0 else 0.0

    def percentile(self, q: float) -> float | None:
        return percentile(self.latencies, q)

    def phase_means(self) -> dict[str, float]:
        ok = [t.phases for t in self.timings if t.ok]
        names = sorted({k for p in ok for k in p})
        return {k: round(sum(p.get(k, 0.0) for p in ok) / len(ok), 4) for k in names} if ok else {}

    def peak(self) -> dict[str, float | None]:
        """Peak gluster RSS over the curve and the lowest MemAvailable seen (MiB)."""
        totals = [sum(v for v in (s.glusterd_rss_mb, s.brick_rss_mb, s.other_rss_mb) if v is not None)
                  for s in self.curve]
        return {"gluster_rss_mb": round(max(totals), 1) if totals else None,
                "min_mem_available_mb": round(min(s.mem_available_mb for s in self.curve), 1) if self.curve else None}

    def to_record(self) -> dict[str, Any]:
        """The "storm" run record (docs: notes/records.md)."""
        mounts = [t.mount_s for t in self.timings if t.mount_s is not None]

        def r(v: float | None) -> float | None:
            return None if v is None else round(v, 4)

        return {
            "scenario": STORM_SCENARIO,
            "n_volumes": self.plan.volumes,
            "concurrency": self.plan.concurrency,
            "brick_multiplex": self.plan.brick_multiplex,
            "volume_type": self.plan.spec.type.value,
            "cluster": self.cluster,
            "nodes": self.nodes,
            "volumes_before": self.volumes_before,
            "created": self.created,
            "p50_s": r(self.percentile(50)), "p95_s": r(self.percentile(95)),
            "p99_s": r(self.percentile(99)), "max_s": r(max(self.latencies, default=None)),
            "volumes_per_min": round(self.volumes_per_min, 2),
            "create_s": round(self.create_s, 2), "delete_s": round(self.delete_s, 2),
            "deletes": {"count": len(self.delete_latencies), "p50_s": r(percentile(self.delete_latencies, 50)),
                        "max_s": r(max(self.delete_latencies, default=None)),
                        "kept_for_teardown": self.kept_for_teardown},
            "phases_mean_s": self.phase_means(),
            "mounts": {"count": len(mounts), "p50_s": r(percentile(mounts, 50)), "max_s": r(max(mounts, default=None))},
            "max_bricks_per_process": self.max_bricks_per_process,
            "peak": self.peak(),
            "errors": self.errors,
            "leftovers": self.leftovers,
            "curve": [asdict(s) for s in self.curve],
        }


# --- brick multiplexing ---------------------------------------------------------------------------

def set_multiplex(cli: GlusterCLI, on: bool, bricks_per_process: int | None = None) -> None:
    cli.xml("volume", "set", "all", MULTIPLEX_OPTION, "on" if on else "off")
    if on and bricks_per_process is not None:
        cli.xml("volume", "set", "all", MAX_BRICKS_OPTION, str(bricks_per_process))


def reset_multiplex(cli: GlusterCLI) -> None:
    """Both cluster-wide options back to gluster's defaults."""
    cli.xml("volume", "reset", "all", MAX_BRICKS_OPTION)
    cli.xml("volume", "reset", "all", MULTIPLEX_OPTION)


def cluster_option(cli: GlusterCLI, option: str) -> str | None:
    try:
        return cli.volume_get("all", option) or None
    except HarnessError:
        return None


# --- the storm ------------------------------------------------------------------------------------

def run_storm(cluster: "Cluster", plan: StormPlan, progress: Callable[[str], None] | None = None) -> StormResult:
    """Provision plan.volumes volumes, measure, delete them all; return the result (never asserts).

    Raises ConfigError before any change if the storm would not fit the machine
    (harness.capacity) or if volumes named like the storm's already exist. Volume failures are
    collected as errors, not raised; whatever happens, every storm volume is deleted and brick
    multiplexing is reset before returning.
    """
    say = progress or log.info
    nodes = list(cluster.nodes)
    capacity.check(plan.demand(len(nodes)))
    cli = cluster.gluster
    existing = cli.volume_names()
    clashing = [v for v in existing if v.startswith(plan.prefix + "-")]
    if clashing:
        raise ConfigError(f"volumes named like this storm's already exist ({', '.join(clashing[:5])}); "
                          f"delete them or choose another storm prefix")
    created: dict[str, Volume] = {}
    timings: list[VolumeTiming] = []
    curve: list[Sample] = []
    mount_lock = threading.Lock()
    lock = threading.Lock()
    client = cluster.clients[0] if cluster.clients else None

    def provision(i: int) -> VolumeTiming:
        name = plan.volume_name(i)
        phases: dict[str, float] = {}
        start = time.monotonic()
        try:
            volume = create_volume(cluster, plan.spec, name, phases=phases)
        except Exception as exc:  # one volume's failure is a finding, not the end of the storm
            return VolumeTiming(name, False, time.monotonic() - start, phases, error=short_error(exc))
        seconds = time.monotonic() - start
        with lock:
            created[name] = volume
        mount_s = None
        if client is not None and plan.mount_every and (i + 1) % plan.mount_every == 0:
            try:
                with mount_lock:  # mount paths are numbered by the cluster; one mount at a time
                    t0 = time.monotonic()
                    mount = cluster.mount(volume, client)
                    mount_s = time.monotonic() - t0
                    cluster.unmount(mount)
            except Exception as exc:
                return VolumeTiming(name, False, seconds, phases, error=f"mount: {short_error(exc)}")
        return VolumeTiming(name, True, seconds, phases, mount_s)

    started = time.monotonic()
    create_s = delete_s = 0.0
    delete_errors: list[str] = []
    delete_latencies: list[float] = []
    kept = 0
    max_bricks = str(plan.max_bricks_per_process) if plan.brick_multiplex else None
    try:
        set_multiplex(cli, plan.brick_multiplex, plan.max_bricks_per_process)
        curve.append(sample_cost(nodes, 0, 0.0))
        checkpoints = plan.checkpoints()
        # Every volume is queued at once, like a burst of claims; the curve is sampled from this
        # thread whenever the count of finished volumes passes a checkpoint, without pausing the pool.
        with ThreadPoolExecutor(max_workers=plan.concurrency, thread_name_prefix="storm") as pool:
            futures = [pool.submit(provision, i) for i in range(plan.volumes)]
            try:
                stopping = False
                for future in as_completed(futures):
                    if future.cancelled():
                        continue
                    timings.append(future.result())
                    failed = sum(1 for t in timings if not t.ok)
                    if checkpoints and len(timings) >= checkpoints[0]:
                        while checkpoints and len(timings) >= checkpoints[0]:
                            checkpoints.pop(0)
                        point = sample_cost(nodes, len(created), time.monotonic() - started)
                        curve.append(point)
                        ok = [t.seconds for t in timings if t.ok]
                        # The figures so far, so a storm cut short still leaves them in its log.
                        say(f"storm {plan.label}: {len(created)}/{plan.volumes} volumes up after "
                            f"{point.elapsed_s:.0f} s, {failed} failed; latency p50 {_fmt(percentile(ok, 50))} s "
                            f"p99 {_fmt(percentile(ok, 99))} s max {_fmt(max(ok, default=None))} s; RSS glusterd "
                            f"{point.glusterd_rss_mb} bricks {point.brick_rss_mb} other {point.other_rss_mb} MiB in "
                            f"{point.processes} processes; MemAvailable {point.mem_available_mb:.0f} MiB")
                    if failed >= plan.max_errors and not stopping:
                        say(f"storm {plan.label}: stopping after {failed} failures; the queued volumes are cancelled")
                        stopping = True
                        for queued in futures:
                            queued.cancel()  # only those not yet started; running ones finish
            except BaseException:
                for queued in futures:  # interrupted: do not provision the queue before cleaning up
                    queued.cancel()
                raise
        create_s = time.monotonic() - started
        timings.sort(key=lambda t: t.name)
    finally:
        deleting_all = plan.delete_sample is None  # else the cluster's teardown removes the rest
        doomed = sorted(created.values(), key=lambda v: v.name)
        if not deleting_all:
            kept, doomed = max(0, len(doomed) - plan.delete_sample), doomed[-plan.delete_sample:]
        say(f"storm {plan.label}: deleting {len(doomed)} volumes" + (f", {kept} left to teardown" if kept else ""))
        t0 = time.monotonic()
        delete_errors, delete_latencies = delete_volumes(doomed, plan.concurrency)
        if deleting_all:
            delete_errors += sweep_storm_volumes(cluster, plan.prefix)
        delete_s = time.monotonic() - t0
        if deleting_all:
            reset_multiplex(cli)
    leftovers = storm_leftovers(cluster, plan.prefix) if deleting_all else []
    say(f"storm {plan.label}: deleted in {delete_s:.0f} s; leftovers: {leftovers or 'none'}")
    return StormResult(plan, cluster.run_id, len(nodes), len(existing), timings, curve, create_s, delete_s,
                       leftovers, max_bricks, delete_errors, delete_latencies, kept)


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"
