"""Faults: pod, node, zone, network, latency, disk, brick and rolling-restart failures that always
revert, each recorded on the run's Timeline. harness.faults.base states the contract; one KINDS
registry holds every provider's faults (a fault the cluster cannot serve is refused when built).

Besides the classes, JSON-friendly functions for callers such as a chaostoolkit extension:
`inject_fault(cluster, {"kind": ..., **params})` returns the fault's description (with its
fault_id and what its effect confirmation measured); `revert_fault(cluster, description)` reverts
it, in this process or, rebuilt from the description, in another one.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Mapping

from ..errors import ConfigError
from .base import Fault, default_timeline, set_default_timeline
from .brick import BrickLoss
from .disk import FailingDisk, SlowDisk
from .latency import Latency, between_zones
from .network import IsolateNode, NetworkPartition, PacketLoss
from .pod import DeleteGlusterPod, NodeContainerFault
from .node import NodeHang, ZoneOutage
from .crash import NodeCrash, RestartPod
from .glusterd import KillGlusterd
from .process import KillBrick, KillSelfHeal
from .rolling import RollingRestart

if TYPE_CHECKING:
    from ..cluster import Cluster
    from ..volume import Volume

__all__ = [
    "Fault", "KillBrick", "KillGlusterd", "KillSelfHeal", "RestartPod", "NodeCrash", "NodeHang", "ZoneOutage",
    "NetworkPartition", "IsolateNode", "PacketLoss", "Latency", "between_zones", "SlowDisk", "FailingDisk",
    "BrickLoss", "RollingRestart", "DeleteGlusterPod", "NodeContainerFault", "KINDS", "build", "inject_fault",
    "revert_fault", "discover",
    "default_timeline", "set_default_timeline", "attach_volume",
]

KINDS: dict[str, type[Fault]] = {cls.kind: cls for cls in (
    KillBrick, KillGlusterd, KillSelfHeal, RestartPod, NodeCrash, NodeHang, ZoneOutage, NetworkPartition,
    IsolateNode, PacketLoss, Latency, SlowDisk, FailingDisk, BrickLoss, RollingRestart, DeleteGlusterPod,
    NodeContainerFault)}
VOLUME_PARAMS = ("volume", "volumes")


def discover() -> list[dict[str, Any]]:
    """The catalog: each kind with its docstring's first line (for tooling and docs)."""
    return [{"kind": k, "class": c.__name__, "doc": (c.__doc__ or "").strip().splitlines()[0] if c.__doc__ else ""}
            for k, c in sorted(KINDS.items())]


def attach_volume(cluster: "Cluster", name: str) -> "Volume":
    """A Volume object for an existing volume, from `volume info` (for faults rebuilt elsewhere)."""
    from ..volume import Brick, Volume, VolumeSpec, VolumeType

    infos = cluster.gluster.volume_info(name) if name in cluster.gluster.volume_names() else []
    if not infos:
        raise ConfigError(f"no volume named {name!r} on cluster {cluster.run_id}")
    info = infos[0]
    if info.disperse_count:
        spec = VolumeSpec(VolumeType.DISPERSE, disperse_data=info.disperse_count - info.redundancy_count,
                          redundancy=info.redundancy_count)
    elif info.arbiter_count:
        spec = VolumeSpec(VolumeType.ARBITER)
    elif info.brick_count > info.replica_count:
        spec = VolumeSpec(VolumeType.DISTRIBUTED_REPLICATE, distribute=info.brick_count // info.replica_count)
    else:
        spec = VolumeSpec(VolumeType.REPLICA2 if info.replica_count == 2 else VolumeType.REPLICA3)
    size = spec.set_size
    bricks = [Brick(cluster.node_by_address(b.host), b.path, i, i // size, b.is_arbiter)
              for i, b in enumerate(info.bricks)]
    return Volume(cluster, name, spec, bricks, ())


def build(cluster: "Cluster", description: Mapping[str, Any], **kw: Any) -> Fault:
    """Rebuild a fault from describe()'s dict (or a hand-written {"kind": ..., params}).

    Volume parameters are names, attached with attach_volume. ConfigError for an unknown kind or
    parameter, before anything changes.
    """
    data = dict(description)
    kind = data.pop("kind", None)
    if kind not in KINDS:
        raise ConfigError(f"unknown fault kind {kind!r}; known kinds: {', '.join(sorted(KINDS))}")
    data.pop("run_id", None)
    fault_id = data.pop("fault_id", None)
    if "volume" in data and isinstance(data["volume"], str):
        data["volume"] = attach_volume(cluster, data["volume"])
    if "volumes" in data:
        data["volumes"] = [attach_volume(cluster, v) if isinstance(v, str) else v for v in data["volumes"]]
    try:
        fault = KINDS[kind](cluster, **data, **kw)
    except TypeError as exc:
        raise ConfigError(f"bad parameters for fault {kind}: {exc}") from None
    if fault_id:
        fault.fault_id = str(fault_id)
    return fault


def inject_fault(cluster: "Cluster", description: Mapping[str, Any], **kw: Any) -> dict[str, Any]:
    """Build and inject; returns the description with fault_id and the measured effect."""
    fault = build(cluster, description, **kw)
    fault.inject()
    return {**fault.describe(), "effect": fault.effect}


def revert_fault(cluster: "Cluster", description: Mapping[str, Any], **kw: Any) -> dict[str, Any]:
    """Revert the fault that inject_fault described: the live object when this process holds it,
    else one rebuilt from the description (its artefacts are found by fault id). Idempotent."""
    fault_id = description.get("fault_id")
    timeline = kw.get("timeline") or default_timeline(cluster)
    live = next((f for f in timeline.active_faults() if f.fault_id == fault_id), None)
    if live is None:
        live = build(cluster, {k: v for k, v in description.items() if k != "effect"}, **kw)
        live.active = True  # act as if injected: every _undo tolerates parts that were never done
    live.revert()
    return live.describe()
