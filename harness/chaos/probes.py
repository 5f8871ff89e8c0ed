"""chaostoolkit probes for the steady state of a volume. Each returns True or False (use
`"tolerance": true`) and logs why it is False; a state that cannot be known (a brick answering
"-", a CLI that fails, an I/O that does not return) is False, never taken for healthy. The heal
probes ask again for up to UNKNOWN_WAIT_S before they call an answer unknown.

Probes return rather than raise on an unhealthy volume on purpose: chaostoolkit counts a probe
that raises as a failed run (and skips rollbacks under its default strategy), while a False
probe is a deviation, which is what a broken steady state is.
"""
from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Callable, Mapping, Sequence, TypeVar

from ..checks import check_access, check_no_split_brain, prepare_access_probe, probe_access
from ..errors import HarnessError, WaitTimeout
from ..health import peers_connected
from ..latency_probe import LatencyProbe
from ..timeseries import percentiles
from ..waiting import wait_for
from .target import target

if TYPE_CHECKING:
    from ..gluster import HealSummary

log = logging.getLogger("chaostoolkit.glusterharness")
T = TypeVar("T")
UNKNOWN_WAIT_S = 10.0
P99_SAMPLES = 100  # the fewest writes whose 99th percentile is not simply the slowest one
P99_MAX_S = 30.0

__all__ = [
    "volume_healthy", "pending_heal_is_zero", "no_split_brain", "client_can_write_and_read",
    "write_latency_p99_below", "ping_timeout_at_most",
]


def _false(probe: str, why: str) -> bool:
    log.warning("probe %s is False: %s", probe, why)
    return False


def volume_healthy(configuration: Mapping[str, Any] | None = None) -> bool:
    """Every brick of the volume online and every gluster peer Connected."""
    t = target(configuration)
    try:
        status = t.volume.status()
    except HarnessError as exc:
        return _false("volume_healthy", f"`volume status {t.volume.name}` failed: {str(exc).splitlines()[0]}")
    offline = [b.name for b in t.volume.bricks if not ((s := status.brick(b.name)) and s.online)]
    if offline:
        return _false("volume_healthy", f"bricks of {t.volume.name} offline: {', '.join(offline)}")
    ok, detail = peers_connected(t.cluster)
    if not ok:
        return _false("volume_healthy", f"peers of {t.cluster.run_id}: {detail}")
    return True


def _known(ask: Callable[[], T], is_known: Callable[[T], bool], what: str, describe: Callable[[T], str]) -> T:
    """ask() until its answer is known (not "-" for some brick, not a failed CLI) for up to
    UNKNOWN_WAIT_S. heal info's own client can miss a brick that is up (10.3 once refused one,
    "volume-id changed ... Needs remount", as another brick's handshake set the same id), and an
    unknown answer says nothing about the volume yet. Raises WaitTimeout naming the last answer."""
    last: list[Any] = [None]

    def probe() -> T | None:
        last[0] = ask()
        return last[0] if is_known(last[0]) else None

    return wait_for(probe, timeout=UNKNOWN_WAIT_S, interval=1.0, what=what, tolerate=HarnessError,
                    describe=lambda: "no answer" if last[0] is None else describe(last[0]))


def _per_brick(summary: "HealSummary") -> str:
    return ", ".join(f"{b.brick}={'-' if b.pending is None else b.pending}" for b in summary.bricks)


def pending_heal_is_zero(configuration: Mapping[str, Any] | None = None) -> bool:
    """`heal info summary` answers for every brick and pending entries total 0."""
    t = target(configuration)
    try:
        summary = _known(t.volume.heal_summary, lambda s: s.total_pending is not None,
                         f"`heal {t.volume.name} info summary` to answer for every brick", _per_brick)
    except WaitTimeout as exc:
        return _false("pending_heal_is_zero", str(exc))
    if summary.total_pending != 0:
        return _false("pending_heal_is_zero", f"pending heal of {t.volume.name}: {_per_brick(summary)}"
                      f" (is the self-heal daemon on? `gluster volume get {t.volume.name} cluster.self-heal-daemon`)")
    return True


def no_split_brain(configuration: Mapping[str, Any] | None = None) -> bool:
    """`heal info split-brain` lists no entry and every brick answered."""
    t = target(configuration)
    try:
        result = _known(lambda: check_no_split_brain(t.volume), lambda r: r.passed is not None,
                        f"`heal {t.volume.name} info split-brain` to answer for every brick", lambda r: str(r.evidence))
    except WaitTimeout as exc:
        return _false("no_split_brain", str(exc))
    if result.passed is not True:
        return _false("no_split_brain", f"{result.observed} (expected {result.expected})")
    return True


def client_can_write_and_read(timeout_s: float = 10.0, configuration: Mapping[str, Any] | None = None) -> bool:
    """A client writes (with fsync) and reads a file through its FUSE mount within timeout_s each. The read
    bypasses the client's caches (harness.clientops.read_uncached): a cached read says nothing of the volume."""
    t = target(configuration)
    try:
        prepare_access_probe(t.mount)
    except HarnessError as exc:  # the client could not write its probe file: the volume does not serve it
        return _false("client_can_write_and_read", str(exc))
    result = check_access(probe_access(t.mount, ("write", "read"), timeout=timeout_s), {"write": "ok", "read": "ok"},
                          name="client write and read")
    if result.passed is not True:
        return _false("client_can_write_and_read", f"{t.mount.client.name}:{t.mount.path}: {result.observed}; "
                      f"errors {result.evidence.get('errors')}")
    return True


def write_latency_p99_below(bound_ms: float, samples: int = P99_SAMPLES, interval_s: float = 0.01,
                            max_seconds: float = P99_MAX_S,
                            configuration: Mapping[str, Any] | None = None) -> bool:
    """A short workload now (4 KiB write + fsync every interval_s): no write fails and the p99 of the
    first `samples` writes is below bound_ms (judge_p99), or after `max_seconds` without them, false."""
    t = target(configuration)
    with LatencyProbe(t.mount, name="steady-state-writes", interval_s=interval_s) as probe:
        def decided() -> bool:
            return p99_decided([p.latency_ms if p.ok else None for p in probe.points], bound_ms, samples)
        try:
            wait_for(decided, timeout=max_seconds, interval=0.05, what=f"{samples} steady-state writes")
        except WaitTimeout:
            pass  # judged below on what was written
    why_not = judge_p99([p.latency_ms if p.ok else None for p in probe.points], bound_ms, samples, max_seconds)
    if why_not:
        return _false("write_latency_p99_below", f"{why_not}; errors {probe.errors[:3]}" if probe.errors else why_not)
    ok = [p.latency_ms for p in probe.points[:samples]]
    log.info("write p99 %.1f ms over %d writes (bound %s ms)", percentiles(ok, (99.0,))["p99"], samples, bound_ms)
    return True


def p99_decided(latencies_ms: Sequence[float | None], bound_ms: float, samples: int) -> bool:
    """Whether the first `samples` writes (None: failed) already decide the verdict: all written, or
    one failed, or more than 1 % of them over the bound (the p99 is then over it, whatever follows)."""
    first = latencies_ms[:samples]
    return len(first) >= samples or None in first or \
        sum(ms >= bound_ms for ms in first if ms is not None) > samples // 100


def judge_p99(latencies_ms: Sequence[float | None], bound_ms: float, samples: int, max_seconds: float) -> str | None:
    """Why the first `samples` writes miss a p99 under bound_ms, or None when they meet it.

    Counted in writes, not seconds: over the ~28 writes a loaded machine fits in 2 s, a "p99" is the
    single slowest write, and one scheduling hiccup failed a healthy volume's steady state."""
    first = latencies_ms[:samples]
    ok = [ms for ms in first if ms is not None]
    if len(ok) < len(first):
        return f"{len(first) - len(ok)} of {len(first)} writes failed"
    over = sum(ms >= bound_ms for ms in ok)
    if over > samples // 100:
        return f"{over} of the first {len(ok)} writes took {bound_ms:g} ms or more (slowest {max(ok):.1f} ms)"
    if len(ok) < samples:
        return f"only {len(ok)} writes in {max_seconds:g} s, {samples} needed for a p99"
    return None  # at most 1 % over the bound: the nearest-rank p99 (timeseries.percentiles) is under it


def ping_timeout_at_most(seconds: float, configuration: Mapping[str, Any] | None = None) -> bool:
    """The volume's network.ping-timeout is at most `seconds` (a hang or partition stalls clients
    that long; the fast profile sets 5)."""
    t = target(configuration)
    try:
        value = float(t.cluster.gluster.volume_get(t.volume.name, "network.ping-timeout"))
    except (HarnessError, ValueError) as exc:
        return _false("ping_timeout_at_most", f"cannot read network.ping-timeout of {t.volume.name}: {exc}")
    if value > seconds:
        return _false("ping_timeout_at_most", f"network.ping-timeout of {t.volume.name} is {value:g} s, more than "
                      f"{seconds:g}; set it (`gluster volume set {t.volume.name} network.ping-timeout 5`) or start "
                      f"the cluster with the fast profile")
    return True
