"""Which cluster, volume and mount a chaostoolkit activity acts on, found from the state that
`python -m harness up` (or a pytest session) leaves: the registry entry /run/glusterharness/glhN.json
and the run folder it names (<root>/cluster.json for the local provider; for k8s-local the
Kubernetes cluster's k8s-local.json and its gluster stack's gluster.json, reached through the API).

Configuration keys an experiment may set (all optional):
- `glusterharness_run_id`: the cluster's run id (glhN), as `python -m harness status` prints it;
- `glusterharness_state`: the path of a cluster's state file (<root>/cluster.json) instead;
- `glusterharness_volume`: the volume to act on (default: the only started volume);
- `glusterharness_timeline`: a JSON-lines file the faults' Timeline events are appended to
  (default <root>/chaos/timeline.jsonl);
- `glusterharness_heal_timeout`: seconds wait_volume_whole waits (default 120).
Without a run id or state path, the only cluster kept by `python -m harness up` is used.

chaostoolkit runs every activity of an experiment in one process but gives them no shared
context object, so the attached cluster is kept per process (keyed by its run id and the node
holders' pids, so a new cluster with a reused run id is attached afresh). Live fault objects and
background workloads hang off that object; what must survive the process (which faults are
injected) is also written under <root>/chaos/.
"""
from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from ..cluster import Cluster
from ..providers.host import registry
from ..errors import ConfigError, HarnessError
from ..faults import attach_volume
from ..faults.base import set_default_timeline
from ..mount import FuseMount
from ..providers import attach_registered
from ..timeline import Timeline
from ..volume import Volume

RUN_ID_KEY = "glusterharness_run_id"
STATE_KEY = "glusterharness_state"
VOLUME_KEY = "glusterharness_volume"
TIMELINE_KEY = "glusterharness_timeline"
HEAL_TIMEOUT_KEY = "glusterharness_heal_timeout"
CHAOS_DIR = "chaos"

_lock = threading.Lock()
_attached: dict[tuple, "Target"] = {}


@dataclass(eq=False)
class Target:
    """An attached cluster with the volume and mounts the activities use."""

    cluster: Cluster
    volume: Volume  # None only while being attached
    mounts: list[FuseMount]
    workloads: dict[str, Any] = field(default_factory=dict)  # background workloads of this process, by name

    @property
    def state_dir(self) -> Path:
        """<root>/chaos: fault labels and workload results of chaos activities."""
        if self.cluster.root is None:
            raise ConfigError(f"cluster {self.cluster.run_id} keeps no run folder on this host for chaos state")
        path = self.cluster.root / CHAOS_DIR
        path.mkdir(parents=True, exist_ok=True)
        return path

    @property
    def mount(self) -> FuseMount:
        if not self.mounts:
            raise ConfigError(f"volume {self.volume.name} of {self.cluster.run_id} is not mounted on any client; "
                              f"start the cluster with `python -m harness up --volume replica3` (it mounts it)")
        return self.mounts[0]


def _value(configuration: Mapping[str, Any] | None, key: str) -> str:
    value = (configuration or {}).get(key)
    return str(value).strip() if value not in (None, "") else ""


def find_entry(configuration: Mapping[str, Any] | None) -> registry.Entry:
    """The registry entry named by the configuration, else the only kept cluster; ConfigError
    saying how to name one when that is ambiguous or nothing runs."""
    run_id, state = _value(configuration, RUN_ID_KEY), _value(configuration, STATE_KEY)
    live = [e for e in registry.entries() if not e.stale]
    if state:
        try:
            data = json.loads(Path(state).read_text())
        except (OSError, ValueError) as exc:
            raise ConfigError(f"{STATE_KEY}={state!r}: cannot read the cluster state file ({exc}); it is "
                              f"<root>/cluster.json of a cluster `python -m harness status` lists") from None
        run_id = run_id or str(data.get("run_id", ""))
        if data.get("run_id") != run_id:
            raise ConfigError(f"{STATE_KEY} {state} belongs to {data.get('run_id')}, not {RUN_ID_KEY}={run_id}")
    if run_id:
        found = [e for e in live if e.run_id == run_id]
        if not found:
            raise ConfigError(f"no running cluster {run_id}; running: {', '.join(e.run_id for e in live) or 'none'} "
                              f"(see `python -m harness status`)")
        return found[0]
    kept = [e for e in live if e.persistent]
    if len(kept) == 1:
        return kept[0]
    if not kept:
        raise ConfigError("no cluster kept by `python -m harness up` is running; start one with "
                          "`python -m harness up --volume replica3`, or set the configuration value "
                          f"{RUN_ID_KEY} (env GLUSTERHARNESS_RUN_ID) to a running cluster's run id")
    raise ConfigError(f"several kept clusters run ({', '.join(e.run_id for e in kept)}); choose one with the "
                      f"configuration value {RUN_ID_KEY} (env GLUSTERHARNESS_RUN_ID)")


def _volume_name(cluster: Cluster, configuration: Mapping[str, Any] | None) -> str:
    name = _value(configuration, VOLUME_KEY)
    if name:
        return name
    started = [v.name for v in cluster.gluster.volume_info() if v.status == "Started"]
    if len(started) == 1:
        return started[0]
    raise ConfigError(f"cluster {cluster.run_id} has {len(started)} started volumes ({', '.join(started) or 'none'}); "
                      f"name one with the configuration value {VOLUME_KEY} (env GLUSTERHARNESS_VOLUME)"
                      + ("" if started else ", after `python -m harness up --volume replica3`"))


def target(configuration: Mapping[str, Any] | None) -> Target:
    """The attached cluster, volume and mounts for this configuration. The cluster object is
    attached once per process (its live faults and workloads hang off it); the volume and its
    mounts are looked up on every call, so a volume made or mounted since is seen."""
    key, attach = attach_registered(find_entry(configuration))
    with _lock:
        known = _attached.get(key)
        if known is None:  # attached once per process: an API connection for a Kubernetes cluster
            known = _attached[key] = Target(attach(), None, [])  # type: ignore[arg-type]
        # Fault events go to the configured file, else beside the cluster (<root>/chaos/timeline.jsonl).
        timeline = Path(_value(configuration, TIMELINE_KEY) or known.state_dir / "timeline.jsonl")
        current = known.cluster.fault_timeline
        if current is None or current.path != timeline:
            set_default_timeline(known.cluster, Timeline(timeline))
        name = _volume_name(known.cluster, configuration)
        if known.volume is None or known.volume.name != name:
            try:
                known.volume = attach_volume(known.cluster, name)
            except HarnessError as exc:
                raise ConfigError(f"cluster {known.cluster.run_id}: {exc}") from None
        known.mounts = known.cluster.mounts_of(known.volume)
        known.cluster.mounts = list(known.mounts)  # faults wait for these mounts' children up after a revert
        return known
