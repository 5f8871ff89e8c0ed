"""Pre-flight of a rolling upgrade step: before a node is stopped for its version swap, refuse a
step that cannot end well, while nothing of that step has happened yet.

A step is refused (UpgradeRefused, naming every reason) when:
(a) a started volume has pending heal or a split-brain entry, or a brick whose counts are unknown
    ("-"): stopping a node then can leave the only good copy of a file offline;
(b) the cluster's cluster.op-version is above the highest op-version of the target version: its
    glusterd would not start ("wrong op-version (110000) retrieved", "Failed to restore
    op_version"), so a roll back to a version below an op-version already raised is refused;
(c) a started volume is of a type the upstream upgrade guide excludes from online upgrade
    (disperse, distributed disperse and pure distribute: "use the Offline upgrade procedure
    instead"), unless the caller allows those types explicitly;
(d) the pool or a volume is not whole (a peer not connected, a brick offline), or a volume would
    lose quorum with the node's bricks down: client quorum of a replica set (AFR's rule), the
    fragments a disperse set needs, server quorum of glusterd.

The rules over observed values are pure functions; `check` gathers the values from the CLI of a
node other than the one to be stopped.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Sequence

from .checks.quorum import client_quorum_met
from .errors import HarnessError
from .gluster.xml import HealSummary, VolumeInfo, VolumeStatus
from .health import peers_connected
from .gluster.opversion import max_op_version, op_versions

if TYPE_CHECKING:
    from .cluster import Cluster, Node

UPGRADE_GUIDE = "https://docs.gluster.org/en/main/Upgrade-Guide/generic-upgrade-procedure/"
OFFLINE_TYPES = ("Disperse", "Distributed-Disperse", "Distribute")
OFFLINE_REASON = (f"the upstream upgrade guide excludes disperse and pure distribute volumes from online upgrade "
                  f"(\"use the Offline upgrade procedure instead\", {UPGRADE_GUIDE}); pass allow_offline_types=True "
                  f"to upgrade online anyway")


class UpgradeRefused(HarnessError):
    """A rolling upgrade step refused before its node was stopped; `reasons` names each cause."""

    def __init__(self, node: str, version: str, running: str, reasons: Sequence[str]) -> None:
        self.node, self.version, self.reasons = node, version, list(reasons)
        super().__init__(f"rolling upgrade to GlusterFS {version} refused before stopping {node} (still running "
                         f"{running}, nothing of this step done): " + "; ".join(self.reasons))


@dataclass(frozen=True)
class Preflight:
    """What the pre-flight of one node's step saw, and its reasons to refuse (none: go)."""

    node: str
    version: str
    reasons: tuple[str, ...]
    observed: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"node": self.node, "version": self.version, "reasons": list(self.reasons), **self.observed}


# --- the rules --------------------------------------------------------------------------------

def op_version_reason(cluster_op: int, target_max: int, version: str) -> str | None:
    """(b) A version runs a cluster only up to its own max op-version."""
    if cluster_op <= target_max:
        return None
    return (f"the cluster's cluster.op-version is {cluster_op} but GlusterFS {version} runs at most op-version "
            f"{target_max}: its glusterd would not start (\"wrong op-version ({cluster_op}) retrieved\"); an "
            f"op-version once raised cannot be lowered, so no node can go back to {version}")


def offline_type_reason(info: VolumeInfo) -> str | None:
    """(c) Volume types the upgrade guide keeps out of online upgrades."""
    if info.type not in OFFLINE_TYPES:
        return None
    return f"volume {info.name} is {info.type}: {OFFLINE_REASON}"


def heal_reason(volume: str, summary: HealSummary) -> str | None:
    """(a) Pending heal and split-brain must be 0 on every brick; unknown ("-") is never 0."""
    bad = [b for b in summary.bricks if b.pending != 0 or b.split_brain != 0]
    if summary.bricks and not bad:
        return None
    counts = ", ".join(f"{b.brick} pending={'-' if b.pending is None else b.pending} "
                       f"split-brain={'-' if b.split_brain is None else b.split_brain}" for b in bad)
    return (f"volume {volume} is not healed: {counts or 'heal info listed no brick'} (pending heal "
            f"{summary.total_pending if summary.total_pending is not None else 'unknown'}, split-brain "
            f"{summary.total_split_brain if summary.total_split_brain is not None else 'unknown'})")


def sets_of(info: VolumeInfo) -> list[list[str]]:
    """The volume's bricks ("host:path") per replica or disperse set; a pure distribute brick is a
    set of its own."""
    size = info.disperse_count or (info.replica_count if info.replica_count > 1 else 1)
    names = [b.name for b in info.bricks]
    return [names[i:i + size] for i in range(0, len(names), size)]


def set_quorum_reasons(info: VolumeInfo, down: str, quorum_type: str, quorum_count: int) -> list[str]:
    """(d) Each set of the volume still serves with the bricks of the node at address `down` gone:
    a replica set keeps client quorum (AFR's rule), a disperse set keeps its data fragments (or
    disperse.quorum-count, when higher), a distribute brick has no other copy."""
    reasons = []
    for k, bricks in enumerate(sets_of(info)):
        up = [not name.startswith(f"{down}:") for name in bricks]
        if all(up):
            continue
        if info.disperse_count:
            need = max(info.disperse_count - info.redundancy_count, quorum_count)
            met, rule = sum(up) >= need, f"a disperse set needs {need} of {len(up)} bricks"
        elif len(bricks) > 1:
            met = client_quorum_met(up, quorum_type, quorum_count)
            rule = f"cluster.quorum-type {quorum_type}" + (f", quorum-count {quorum_count}" if quorum_type == "fixed"
                                                           else "")
        else:
            met, rule = False, "a distribute brick has no other copy"
        if not met:
            reasons.append(f"volume {info.name} set {k} would lose quorum with {down} down: {sum(up)} of "
                           f"{len(up)} bricks left ({rule})")
    return reasons


def server_quorum_met(active: int, total: int, ratio: str) -> bool:
    """glusterd's rule (glusterd_get_quorum_cluster_counts): at least ceil(total * ratio%) peers
    active, or more than half when no ratio is set."""
    try:
        need = math.ceil(total * float(ratio.strip().rstrip("%")) / 100.0)
    except ValueError:
        need = total * 50 // 100 + 1
    return active >= need


def offline_bricks_reason(volume: str, status: VolumeStatus) -> str | None:
    """(d) Every brick of a started volume online before a node goes down."""
    offline = [b.name for b in status.bricks if not b.online]
    return f"volume {volume} has bricks offline: {', '.join(offline)}" if offline else None


# --- gathering --------------------------------------------------------------------------------

def check(cluster: "Cluster", node: "Node", version: str, allow_offline_types: bool = False) -> Preflight:
    """Look (read only) at the cluster before `node` is stopped to run `version`; a CLI call that
    fails is itself a reason to refuse (unknown is never "fine")."""
    via = next((n for n in cluster.nodes if n is not node), node)
    reasons: list[str] = []
    observed: dict[str, Any] = {"via": via.name}
    ok, peers = peers_connected(cluster)
    if not ok:
        reasons.append(f"peers not all connected: {peers}")
    try:
        cluster_op, _ = op_versions(via)
        target_max = max_op_version(version)
        observed.update(cluster_op_version=cluster_op, target_max_op_version=target_max)
        reasons += [r for r in [op_version_reason(cluster_op, target_max, version)] if r]
        infos = [i for i in via.gluster.volume_info() if i.status == "Started"]
    except HarnessError as exc:
        return Preflight(node.name, version, (*reasons, f"cannot read the cluster's state: {exc}"), observed)
    observed["volumes"] = {}
    for info in infos:
        try:
            reasons += volume_reasons(cluster, via, node, info, allow_offline_types, observed["volumes"])
        except HarnessError as exc:
            reasons.append(f"volume {info.name}: cannot read its state: {str(exc).splitlines()[0]}")
    return Preflight(node.name, version, tuple(reasons), observed)


def volume_reasons(cluster: "Cluster", via: "Node", node: "Node", info: VolumeInfo, allow_offline_types: bool,
                   observed: dict[str, Any]) -> list[str]:
    reasons = []
    offline_type = offline_type_reason(info)
    if offline_type and not allow_offline_types:
        reasons.append(offline_type)
    brick_reason = offline_bricks_reason(info.name, via.gluster.volume_status(info.name))
    reasons += [brick_reason] if brick_reason else []
    seen: dict[str, Any] = {"type": info.type}
    if info.type != "Distribute":  # heal info refuses a volume with no redundancy
        summary = via.gluster.heal_summary(info.name)
        seen.update(pending=summary.total_pending, split_brain=summary.total_split_brain)
        heal = heal_reason(info.name, summary)
        reasons += [heal] if heal else []
    if info.type != "Distribute":  # allowed explicitly: the caller accepts its files going offline
        quorum_type = via.gluster.volume_get(info.name, "cluster.quorum-type")
        count = via.gluster.volume_get(info.name, "disperse.quorum-count" if info.disperse_count
                                       else "cluster.quorum-count")
        seen["quorum_type"] = quorum_type
        reasons += set_quorum_reasons(info, node.address, quorum_type, int(count) if count.isdigit() else 0)
    if via.gluster.volume_get(info.name, "cluster.server-quorum-type") == "server":
        ratio = via.gluster.volume_get("all", "cluster.server-quorum-ratio")
        if not server_quorum_met(len(cluster.nodes) - 1, len(cluster.nodes), ratio):
            reasons.append(f"volume {info.name} follows server quorum (ratio {ratio or 'default: more than half'}), "
                           f"which {len(cluster.nodes) - 1} of {len(cluster.nodes)} nodes do not meet")
    observed[info.name] = seen
    return reasons
