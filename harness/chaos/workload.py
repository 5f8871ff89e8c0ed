"""chaostoolkit actions around the faults: a background workload (4 KiB writes + fsync timed through
the experiment's mount, in the mount's client host) started and stopped with its figures, an index
heal started as an operator would, and the wait until the volume is whole again."""
from __future__ import annotations

import json
import logging
from typing import Any, Mapping

from ..errors import ConfigError, HarnessError
from ..health import run_heal_command, wait_volume_whole as _wait_volume_whole
from ..latency_probe import LatencyProbe
from ..timeseries import phase_percentiles, phases_from_marks
from .actions import DEFAULT_FAULT_TIMEOUT_S, DEFAULT_HEAL_TIMEOUT_S, FAULT_TIMEOUT_KEY, _number
from .target import HEAL_TIMEOUT_KEY, target

log = logging.getLogger("chaostoolkit.glusterharness")

__all__ = ["start_workload", "stop_workload", "start_index_heal", "wait_volume_whole"]


def start_workload(name: str = "writer", interval_s: float = 0.02,
                   configuration: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Start timing 4 KiB writes + fsync through the volume's mount, every interval_s, in the
    background of this process until stop_workload. Fault injects and reverts mark phases."""
    if not isinstance(interval_s, (int, float)) or interval_s < 0:
        raise ConfigError(f"interval_s must be a non-negative number of seconds, got {interval_s!r}")
    t = target(configuration)
    if name in t.workloads:
        raise HarnessError(f"a workload named {name!r} already runs; stop it first (stop_workload)")
    probe = LatencyProbe(t.mount, name=name, interval_s=float(interval_s))
    probe.__enter__()
    t.workloads[name] = probe
    return {"name": name, "mount": str(t.mount.path), "client": t.mount.client.name, "interval_s": interval_s}


def _summary(probe: LatencyProbe) -> dict[str, Any]:
    series = probe.series()
    overall = phase_percentiles(series, phases_from_marks([("all", probe.marks[0][1])], probe.end))[0]
    return {"name": probe.name, "writes": overall.count, "failures": probe.failures(),
            "max_stall_s": round(probe.max_stall_s(), 3),
            **{f"{k}_ms": v for k, v in overall.percentiles_ms.items()},
            "phases": probe.phase_stats(), "errors": probe.errors[:5]}


def stop_workload(name: str = "writer", max_failures: int = 0, max_p99_ms: float = 0, judge: bool = True,
                  configuration: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Stop the named background workload and return its figures (writes, failures, percentiles
    overall and per phase, in ms); its points are written under <root>/chaos/workloads/. With
    `judge`, more than `max_failures` failed writes, or (when max_p99_ms > 0) a p99 over all the
    run's writes at or above max_p99_ms, raise: the activity fails, naming what was measured.
    Does nothing when no workload of that name runs in this process."""
    t = target(configuration)
    probe = t.workloads.pop(name, None)
    if probe is None:
        return {"name": name, "stopped": False, "note": "no workload of this name runs in this process"}
    probe.stop()
    summary = _summary(probe)
    out = t.state_dir / "workloads"
    out.mkdir(exist_ok=True)
    path = probe.write_series(out / f"{name}-{int(probe.marks[0][1])}.jsonl")
    summary["series_file"] = str(path)
    (out / f"{name}.json").write_text(json.dumps(summary, indent=1, default=str))
    log.info("workload %s: %s writes, %s failed, p99 %s ms, longest stall %s s", name, summary["writes"],
             summary["failures"], summary.get("p99_ms"), summary["max_stall_s"])
    if judge and summary["failures"] > max_failures:
        raise HarnessError(f"workload {name} on {t.volume.name} ({t.mount.client.name}:{t.mount.path}): "
                           f"{summary['failures']} writes failed, at most {max_failures} allowed; first errors: "
                           f"{summary['errors']}")
    if judge and max_p99_ms > 0 and (summary.get("p99_ms") is None or summary["p99_ms"] >= max_p99_ms):
        raise HarnessError(f"workload {name} on {t.volume.name}: p99 {summary.get('p99_ms')} ms over "
                           f"{summary['writes']} writes, bound {max_p99_ms} ms; per phase: {summary['phases']}")
    return summary


def start_index_heal(configuration: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """`gluster volume heal VOL`: start an index heal now, as an operator does after a hang or a
    partition (an idle self-heal daemon may never have noticed either; see run_heal_command)."""
    t = target(configuration)
    output = run_heal_command(t.volume, timeout=_number(configuration, FAULT_TIMEOUT_KEY, DEFAULT_FAULT_TIMEOUT_S),
                              via=t.cluster.nodes[0])
    return {"volume": t.volume.name, "started": True, "output": output.strip().splitlines()[:1]}


def wait_volume_whole(timeout: float = 0, configuration: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Wait until every brick is online, every peer Connected, every mount's children up and
    pending heal 0 (timeout in seconds; 0: the configuration's glusterharness_heal_timeout, 120)."""
    t = target(configuration)
    limit = timeout if timeout and timeout > 0 else _number(configuration, HEAL_TIMEOUT_KEY, DEFAULT_HEAL_TIMEOUT_S)
    report = _wait_volume_whole(t.volume, t.mounts, timeout=limit)
    return {"volume": report.volume, "seconds": round(report.seconds, 3), "bricks_s": round(report.bricks_s, 3),
            "peers_s": round(report.peers_s, 3), "children_s": round(report.children_s, 3),
            "heal_s": round(report.heal.seconds, 3)}

