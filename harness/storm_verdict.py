"""The storm's verdicts: provisioning p99 against its gate, memory against the capacity model, and
how many volumes a run provisions."""
from __future__ import annotations

import os
from dataclasses import asdict, replace
from pathlib import Path
from typing import TYPE_CHECKING, Mapping, Sequence

from . import capacity
from .errors import ConfigError
from .gluster.port_race import ISSUE_1101, port_race_evidence
from .results import CheckResult
from .storm import DEFAULT_MAX_PROVISION_P99_S, STORM_SCENARIO, StormResult

if TYPE_CHECKING:
    from .cluster import Node

THRESHOLD_KEY = "max_provision_p99_s"
STORM_VOLUMES_ENV = "GLUSTER_STORM_VOLUMES"  # overrides the profile's storm_volumes


def provision_p99_threshold(path: Path | None, profile: str) -> tuple[float, str]:
    """(max_provision_p99_s, where it came from) for a run profile.

    From the gates file's [profile] table (harness.report.gates: per-scenario overrides of scenario
    "storm" apply); the default in this module when the file is absent or does not set the gate.
    A malformed file is a ConfigError naming it.
    """
    from .report.gates import DEFAULT_THRESHOLDS, load_thresholds

    file = Path(path) if path is not None else DEFAULT_THRESHOLDS
    if not file.exists():
        return DEFAULT_MAX_PROVISION_P99_S, f"default in harness/storm.py ({file} absent)"
    limit = load_thresholds(file, profile).limit_for(THRESHOLD_KEY, STORM_SCENARIO)
    if limit is None:
        return (DEFAULT_MAX_PROVISION_P99_S,
                f"default in harness/storm.py ([{profile}] of {file} sets no {THRESHOLD_KEY})")
    return float(limit), f"{file} [{profile}]"


def storm_volume_count(default: int, environ: Mapping[str, str] = os.environ) -> int:
    """The storm's N: GLUSTER_STORM_VOLUMES if set (a positive integer), else `default` (the profile's)."""
    raw = environ.get(STORM_VOLUMES_ENV)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value < 1:
        raise ConfigError(f"{STORM_VOLUMES_ENV}={raw!r} must be a positive number of volumes, e.g. 100; "
                          f"unset it to use the profile's {default}")
    return value


def check_footprint(result: StormResult, footprint: capacity.Footprint = capacity.MEASURED) -> CheckResult:
    """Passed when the gluster processes' memory stayed within the capacity model's estimate.

    Keeps the resource ceiling honest: at the last curve point, the measured RSS of glusterd,
    bricks and daemons on the nodes must not exceed what harness.capacity predicts for every volume
    then on the cluster (the storm's and those it found). Unknown when processes are not visible.
    """
    last = result.curve[-1] if result.curve else None
    name = f"memory footprint within the capacity model ({result.plan.label})"
    if last is None or last.brick_rss_mb is None:
        return CheckResult(name, None, "process memory not visible", "measured RSS <= estimate")
    measured = (last.glusterd_rss_mb or 0.0) + (last.brick_rss_mb or 0.0) + (last.other_rss_mb or 0.0)
    demand = replace(result.plan.demand(result.nodes, result.volumes_before + last.n), mounts=0)
    est = capacity.estimate(demand, footprint)
    per_brick = (last.brick_rss_mb / last.brick_processes) if last.brick_processes else 0.0
    return CheckResult(
        name, measured <= est.total_mb,
        observed=f"{measured:.0f} MiB RSS with {last.n} storm volumes up ({last.brick_processes} brick processes, "
                 f"{per_brick:.1f} MiB each; glusterd {last.glusterd_rss_mb}, other {last.other_rss_mb})",
        expected=f"<= {est.total_mb:.0f} MiB as harness.capacity estimates for {demand.describe()}",
        evidence={"last": asdict(last), "footprint": asdict(footprint)},
    )


def diagnose_failures(result: StormResult, nodes: Sequence["Node"]) -> dict[str, list[str]]:
    """Per volume whose provisioning failed, the brick-log lines showing gluster/glusterfs#1101's port
    race (empty: not that defect)."""
    return {t.name: port_race_evidence(nodes, t.name) for t in result.timings if not t.ok}


def check_storm(result: StormResult, max_p99_s: float, diagnosed: Mapping[str, list[str]] | None = None) -> CheckResult:
    """Passed when every volume provisioned and was deleted, nothing was left, and p99 <= max_p99_s.
    A storm whose only fault is volumes that failed to start by gluster/glusterfs#1101's port race
    (`diagnosed`: each failed volume with its brick-log evidence) is that known defect, not a pass."""
    p99 = result.percentile(99)
    problems = []
    if result.errors:
        problems.append(f"{len(result.errors)} error(s)")
    if result.created < result.plan.volumes:
        problems.append(f"only {result.created} of {result.plan.volumes} volumes provisioned")
    if p99 is None or p99 > max_p99_s:
        problems.append(f"provisioning p99 {p99 if p99 is None else round(p99, 3)} s over {max_p99_s} s")
    if result.leftovers:
        problems.append(f"left behind: {', '.join(result.leftovers[:5])}")
    failed = [t.name for t in result.timings if not t.ok]
    evidence = [line for name in failed for line in (diagnosed or {}).get(name, [])]
    only_the_race = bool(failed) and (all((diagnosed or {}).get(name) for name in failed) and not result.delete_errors
                     and not result.leftovers and p99 is not None and p99 <= max_p99_s)
    return CheckResult(
        name=f"provisioning storm {result.plan.label}",
        passed=not problems,
        observed=("; ".join(problems) if problems else
                  f"{result.created} volumes, p99 {p99:.3f} s, {result.volumes_per_min:.1f} volumes/min"),
        expected=f"{result.plan.volumes} volumes provisioned and deleted without error, p99 <= {max_p99_s} s",
        evidence={"errors": result.errors[:10], "p50_s": result.percentile(50), "p95_s": result.percentile(95),
                  "max_s": max(result.latencies, default=None), "phases_mean_s": result.phase_means(),
                  **({"port_race": evidence[:10]} if evidence else {}),
                  **({"known_defect": f"{ISSUE_1101}: {'; '.join(evidence[:3])}"} if only_the_race else {})},
    )
