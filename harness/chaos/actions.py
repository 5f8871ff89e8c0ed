"""chaostoolkit actions: inject and revert every fault kind of harness.faults (the background
workload and the volume's recovery: harness.chaos.workload).

Every inject takes a `label` (default: the fault kind) under which the injected fault is written
to <root>/chaos/faults/<label>.json before it changes anything; the matching revert (or
`revert_fault(label)`, or `revert_all_faults()`) reverts it from there. Reverts are idempotent:
reverting a label that is not injected does nothing and says so, which is what rollbacks need
when the method failed before (or after) the fault. Volume parameters default to the experiment's
volume (see harness.chaos.target). Where an action takes host names, MOUNT_CLIENT ("mount-client")
names the client host of the experiment's mount, whatever a provider calls it (client1 here,
gluster-client-0 on Kubernetes), so one experiment runs on every provider. Arguments and results
are JSON-friendly.
"""
from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Any, Mapping

from ..control import Capability, Need
from ..errors import ConfigError, HarnessError
from ..faults import KINDS, build, revert_fault as _revert_description
from .target import Target, target

log = logging.getLogger("chaostoolkit.glusterharness")

FAULT_TIMEOUT_KEY = "glusterharness_fault_timeout"
MOUNT_CLIENT = "mount-client"
DEFAULT_HEAL_TIMEOUT_S = 120.0
DEFAULT_FAULT_TIMEOUT_S = 30.0
VOLUME_KINDS = ("kill-brick", "kill-self-heal", "slow-disk", "failing-disk", "brick-loss")
VOLUMES_KINDS = ("restart-pod", "rolling-restart")

__all__ = [
    "kill_brick", "revert_kill_brick", "kill_glusterd", "revert_kill_glusterd", "kill_self_heal",
    "revert_kill_self_heal", "restart_pod", "revert_restart_pod", "crash_node", "revert_crash_node", "hang_node",
    "revert_hang_node", "zone_outage", "revert_zone_outage", "partition_network", "revert_partition_network",
    "isolate_node", "revert_isolate_node", "packet_loss", "revert_packet_loss", "add_latency", "revert_latency",
    "add_zone_latency", "slow_disk", "revert_slow_disk", "failing_disk", "revert_failing_disk", "lose_brick",
    "revert_lose_brick", "rolling_restart", "revert_rolling_restart", "revert_fault", "revert_all_faults",
]

# The fault kind each inject builds: an experiment naming it needs what that kind needs of its cluster.
INJECTS = {"kill_brick": "kill-brick", "kill_glusterd": "kill-glusterd", "kill_self_heal": "kill-self-heal",
           "crash_node": "node-crash", "hang_node": "node-hang", "zone_outage": "zone-outage",
           "partition_network": "network-partition", "isolate_node": "isolate-node", "packet_loss": "packet-loss",
           "add_latency": "latency", "add_zone_latency": "latency", "slow_disk": "slow-disk",
           "failing_disk": "failing-disk", "lose_brick": "brick-loss", "rolling_restart": "rolling-restart"}
NEEDS: dict[str, tuple[Need, ...]] = {
    **{func: (*sorted(KINDS[kind].needs), *((KINDS[kind].needs_one_of,) if KINDS[kind].needs_one_of else ()))
       for func, kind in INJECTS.items()},
    "restart_pod": (Capability.POD_RESTARTS,),  # a kill and restart here, or a pod delete
}


def _number(configuration: Mapping[str, Any] | None, key: str, default: float) -> float:
    raw = (configuration or {}).get(key)
    if raw in (None, ""):
        return default
    try:
        value = float(raw)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ConfigError(f"configuration {key}={raw!r} must be a number of seconds") from None
    if value <= 0:
        raise ConfigError(f"configuration {key}={raw!r} must be positive")
    return value


def _faults_dir(t: Target) -> Path:
    path = t.state_dir / "faults"
    path.mkdir(exist_ok=True)
    return path


def _label_file(t: Target, label: str) -> Path:
    if not label or not label.replace("-", "").replace("_", "").isalnum():
        raise ConfigError(f"fault label {label!r} may hold only letters, digits, '-' and '_'")
    return _faults_dir(t) / f"{label}.json"


def _mark_workloads(t: Target, phase: str) -> None:
    for probe in t.workloads.values():
        probe.mark(phase)


def _hosts(names: list, configuration: Mapping[str, Any] | None) -> list[str]:
    """Host names with MOUNT_CLIENT replaced by the name of the experiment's mount's client host."""
    return [target(configuration).mount.client.name if n == MOUNT_CLIENT else str(n) for n in names]


def _inject(kind: str, label: str | None, params: dict[str, Any], configuration: Mapping[str, Any] | None
            ) -> dict[str, Any]:
    """Build the fault (ConfigError before anything changes), record it under its label, inject."""
    t = target(configuration)
    label = label or kind
    record = _label_file(t, label)
    if record.exists():
        raise HarnessError(f"a fault labelled {label!r} is already injected on {t.cluster.run_id} ({record}); "
                           f"revert it first (action revert_fault with label {label!r})")
    if kind in VOLUME_KINDS:
        params.setdefault("volume", t.volume.name)
    if kind in VOLUMES_KINDS:
        params.setdefault("volumes", [t.volume.name])
    fault = build(t.cluster, {"kind": kind, **params},
                  timeout=_number(configuration, FAULT_TIMEOUT_KEY, DEFAULT_FAULT_TIMEOUT_S))
    record.write_text(json.dumps(fault.describe()))  # before the fault: a crash now leaves it revertable
    _mark_workloads(t, f"during-{label}")
    try:
        fault.inject()  # on failure it has reverted itself
    except BaseException:
        record.unlink(missing_ok=True)
        _mark_workloads(t, f"after-{label}")
        raise
    # Again, now with what inject found (e.g. every brick a killed multiplexed process served),
    # so a revert from another process brings all of it back.
    record.write_text(json.dumps(fault.describe()))
    result = {**fault.describe(), "label": label, "effect": fault.effect}
    log.info("injected %s (%s) on %s: %s", label, kind, ", ".join(fault.targets()), fault.effect)
    return json.loads(json.dumps(result, default=str))


def revert_fault(label: str, configuration: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Revert the fault injected under `label`, confirmed (bricks online, peers Connected, client
    children up); does nothing when no such fault is injected."""
    t = target(configuration)
    record = _label_file(t, label)
    try:
        description = json.loads(record.read_text())
    except FileNotFoundError:
        return {"label": label, "reverted": False, "note": "no fault with this label is injected"}
    start = time.monotonic()
    described = _revert_description(t.cluster, description)
    record.unlink(missing_ok=True)
    _mark_workloads(t, f"after-{label}")
    log.info("reverted %s (%s)", label, description.get("kind"))
    return {**described, "label": label, "reverted": True, "seconds": round(time.monotonic() - start, 3)}


def revert_all_faults(configuration: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
    """Revert every fault chaos activities injected on the cluster, newest first (a rollback
    safety net). Every one is tried; an error naming each that failed is raised at the end."""
    t = target(configuration)
    records = sorted(_faults_dir(t).glob("*.json"), key=lambda p: p.stat().st_mtime, reverse=True)
    done, errors = [], []
    for record in records:
        try:
            done.append(revert_fault(record.stem, configuration))
        except HarnessError as exc:
            errors.append(f"{record.stem}: {exc}")
    if errors:
        raise HarnessError(f"reverting chaos faults on {t.cluster.run_id} failed: {'; '.join(errors)}; "
                           f"run `python -m harness cleanup` and check the node logs under {t.cluster.root}")
    return done


# --- one inject/revert pair per fault kind --------------------------------------------------------
def kill_brick(bricks: list = [0], label: str = "kill-brick", volume: str = "",  # noqa: B006 - JSON default
               configuration: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """SIGKILL brick processes (by index, host:path, or node name) of the volume."""
    return _inject("kill-brick", label, {"bricks": list(bricks), **({"volume": volume} if volume else {})},
                   configuration)


def revert_kill_brick(label: str = "kill-brick", configuration: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """`volume start force`, confirmed by every brick online and client children up."""
    return revert_fault(label, configuration)


def kill_glusterd(nodes: list, label: str = "kill-glusterd",
                  configuration: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """SIGKILL glusterd of the named nodes (bricks keep running)."""
    return _inject("kill-glusterd", label, {"nodes": list(nodes)}, configuration)


def revert_kill_glusterd(label: str = "kill-glusterd", configuration: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Start the killed glusterds again."""
    return revert_fault(label, configuration)


def kill_self_heal(node: str, label: str = "kill-self-heal", volume: str = "",
                   configuration: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """SIGKILL the self-heal daemon of a node."""
    return _inject("kill-self-heal", label, {"node": node, **({"volume": volume} if volume else {})}, configuration)


def revert_kill_self_heal(label: str = "kill-self-heal",
                          configuration: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Respawn the self-heal daemon (`volume start force`)."""
    return revert_fault(label, configuration)


def restart_pod(node: str, label: str = "restart-pod", configuration: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Restart the gluster pod of a node: where this host sees its processes, every one killed and
    glusterd started again as Kubernetes would (returns once the node's bricks are back online);
    on Kubernetes, the pod deleted through the API (returns once it is gone)."""
    how = target(configuration).cluster.require_one_of(*Capability.POD_RESTARTS, what="restart-pod")
    return _inject("restart-pod" if how == Capability.PROCESS_FAULTS else "pod-delete", label, {"node": node},
                   configuration)


def revert_restart_pod(label: str = "restart-pod", configuration: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Confirm the restarted pod back (on Kubernetes: Ready, glusterd answering, peers connected),
    its bricks online and client children up."""
    return revert_fault(label, configuration)


def crash_node(node: str, label: str = "node-crash", configuration: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """SIGKILL every process of a node (a crashed node)."""
    return _inject("node-crash", label, {"node": node}, configuration)


def revert_crash_node(label: str = "node-crash", configuration: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Boot the node again: start its glusterd, which starts its bricks."""
    return revert_fault(label, configuration)


def hang_node(node: str, label: str = "node-hang", configuration: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """SIGSTOP every process of a node (a hung node: clients stall until network.ping-timeout)."""
    return _inject("node-hang", label, {"node": node}, configuration)


def revert_hang_node(label: str = "node-hang", configuration: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """SIGCONT every stopped process of the node."""
    return revert_fault(label, configuration)


def zone_outage(zone: str, mode: str = "crash", label: str = "zone-outage",
                configuration: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Every node of a zone crashed (mode "crash") or cut off from every other host ("isolate")."""
    return _inject("zone-outage", label, {"zone": zone, "mode": mode}, configuration)


def revert_zone_outage(label: str = "zone-outage", configuration: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Bring every node of the zone back."""
    return revert_fault(label, configuration)


def partition_network(groups: list, one_way: bool = False, label: str = "network-partition",
                      configuration: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Hosts (node, client or zone names, or MOUNT_CLIENT) in groups that cannot reach each other."""
    return _inject("network-partition", label,
                   {"groups": [_hosts(g, configuration) for g in groups], "one_way": one_way}, configuration)


def revert_partition_network(label: str = "network-partition",
                             configuration: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Remove the partition's rules; confirmed by packets crossing again."""
    return revert_fault(label, configuration)


def isolate_node(node: str = "", zone: str = "", label: str = "isolate-node",
                 configuration: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """One node (or every node of a zone) cut off from every other host, both ways."""
    return _inject("isolate-node", label, {"node": node or None, "zone": zone or None}, configuration)


def revert_isolate_node(label: str = "isolate-node", configuration: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Reconnect the isolated node(s)."""
    return revert_fault(label, configuration)


def packet_loss(percent: float, hosts: list = [], zones: list = [], both_ways: bool = False,  # noqa: B006
                label: str = "packet-loss", configuration: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Drop a percentage of the packets the target hosts send (and receive, with both_ways)."""
    return _inject("packet-loss", label, {"percent": percent, "hosts": _hosts(hosts, configuration),
                                          "zones": list(zones), "both_ways": both_ways}, configuration)


def revert_packet_loss(label: str = "packet-loss", configuration: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Remove the packet-loss rules."""
    return revert_fault(label, configuration)


def add_latency(delay_ms: float, hosts: list = [], zones: list = [], label: str = "latency",  # noqa: B006
                configuration: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Delay what the target hosts (or every node of `zones`) send to every other host by delay_ms."""
    return _inject("latency", label,
                   {"delay_ms": delay_ms, "hosts": _hosts(hosts, configuration), "zones": list(zones)},
                   configuration)


def add_zone_latency(rtt_ms: float = 5.0, label: str = "zone-latency",
                     configuration: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Add rtt_ms to the round trip between any two zones (each node delays what it sends to
    nodes of other zones by rtt_ms / 2); the effect is confirmed by measured connect times."""
    if not isinstance(rtt_ms, (int, float)) or rtt_ms <= 0:
        raise ConfigError(f"rtt_ms must be a positive number of milliseconds, got {rtt_ms!r}")
    t = target(configuration)
    return _inject("latency", label, {"zones": t.cluster.zones, "delay_ms": rtt_ms / 2.0, "cross_zone": True},
                   configuration)


def revert_latency(label: str = "latency", configuration: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Stop the delayers and remove their NFQUEUE rules (also for add_zone_latency's label)."""
    return revert_fault(label, configuration)


def slow_disk(delay_us: int = 100000, percent: float = 100.0, fops: list = ["write", "fsync"],  # noqa: B006
              label: str = "slow-disk", configuration: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Delay the volume's brick operations (gluster's delay-gen xlator)."""
    return _inject("slow-disk", label, {"delay_us": delay_us, "percent": percent, "fops": list(fops)}, configuration)


def revert_slow_disk(label: str = "slow-disk", configuration: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Turn the delay-gen xlator off again."""
    return revert_fault(label, configuration)


def failing_disk(error: str = "EIO", percent: float = 100.0, fops: list = ["write"],  # noqa: B006
                 label: str = "failing-disk", configuration: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Fail the volume's brick operations with an errno (gluster's error-gen xlator)."""
    return _inject("failing-disk", label, {"error": error, "percent": percent, "fops": list(fops)}, configuration)


def revert_failing_disk(label: str = "failing-disk", configuration: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Turn the error-gen xlator off again."""
    return revert_fault(label, configuration)


def lose_brick(brick: Any = 0, heal_timeout: float = 120.0, label: str = "brick-loss",
               configuration: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """A brick's process killed and its directory emptied (a pod back with an empty volume)."""
    return _inject("brick-loss", label, {"brick": brick, "heal_timeout": heal_timeout}, configuration)


def revert_lose_brick(label: str = "brick-loss", configuration: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Recover the brick (reset-brick) and heal it full."""
    return revert_fault(label, configuration)


def rolling_restart(nodes: list = [], heal_timeout: float = 120.0, label: str = "rolling-restart",  # noqa: B006
                    configuration: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Restart every node's gluster pod in turn (default: all nodes in order), waiting after each
    for the volume to be whole and pending heal 0; the steps' timings are in the result."""
    return _inject("rolling-restart", label, {"nodes": list(nodes), "heal_timeout": heal_timeout}, configuration)


def revert_rolling_restart(label: str = "rolling-restart",
                           configuration: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Finish a rolling restart interrupted midway (the pod being restarted comes back)."""
    return revert_fault(label, configuration)
