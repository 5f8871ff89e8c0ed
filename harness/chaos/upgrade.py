"""chaostoolkit activities for rolling upgrades (chaos/rolling-upgrade.json): every node of the
attached cluster swapped to another GlusterFS version in turn (harness.upgrade.RollingUpgrade),
and back. A step is one action: it returns once every node runs the version and the volume is
whole (bricks online, peers in the cluster, client children up, heal 0); its result lists each
node's step, the versions per node after it, and the findings (e.g. gluster/glusterfs#4016).

An upgrade is not a fault to revert: the experiment's rollback is a rolling upgrade back to the
installed version (`restore_installed_version`), possible while cluster.op-version has not been
bumped. Nodes already at the wanted version are skipped, so the rollback is idempotent.
"""
from __future__ import annotations

import json
import logging
from typing import Any, Mapping, Sequence

from ..control import Capability
from ..gluster import versions
from ..errors import ConfigError
from ..gluster.opversion import op_versions
from ..upgrade import RollingUpgrade, node_versions
from .actions import DEFAULT_FAULT_TIMEOUT_S, FAULT_TIMEOUT_KEY, _number
from .target import HEAL_TIMEOUT_KEY, target

log = logging.getLogger("chaostoolkit.glusterharness")

__all__ = ["rolling_upgrade", "restore_installed_version", "cluster_versions", "cluster_runs_version"]
# What each activity needs of its cluster (harness.chaos.experiment.experiment_needs reads it).
NEEDS = {"rolling_upgrade": tuple(sorted(RollingUpgrade.needs)),
         "restore_installed_version": tuple(sorted(RollingUpgrade.needs)),
         "cluster_versions": (Capability.GLUSTER_VERSIONS,), "cluster_runs_version": (Capability.GLUSTER_VERSIONS,)}


def rolling_upgrade(version: str = "11.1", nodes: Sequence[str] = (), workarounds: Sequence[str] = ("4016",),
                    allow_offline_types: bool = False, configuration: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Swap every node (or `nodes`, in that order) to GlusterFS `version` in turn, the volume whole
    and healed after each; `version` "installed" (or "") means the host's own version (a downgrade
    before the op-version bump; after it the pre-flight refuses before any node stops). Workarounds
    named (default "4016") are applied and recorded; `allow_offline_types` lets disperse and pure
    distribute volumes of the pool through the pre-flight."""
    wanted = versions.installed_version() if version in ("", "installed") else str(version)
    t = target(configuration)
    upgrade = RollingUpgrade(t.cluster, wanted, volumes=[t.volume], nodes=list(nodes), mounts=t.mounts,
                             workarounds=list(workarounds), allow_offline_types=bool(allow_offline_types),
                             heal_timeout=_number(configuration, HEAL_TIMEOUT_KEY, 120.0),
                             timeout=max(_number(configuration, FAULT_TIMEOUT_KEY, DEFAULT_FAULT_TIMEOUT_S), 60.0))
    upgrade.inject()
    upgrade.revert()  # confirms the volume whole; leaves the versions (an upgrade stays)
    result = {"version": wanted, "effect": upgrade.effect, "op_versions": list(op_versions(t.cluster.nodes[0]))}
    log.info("rolling upgrade to %s done: %s", wanted, node_versions(t.cluster))
    return json.loads(json.dumps(result, default=str))


def restore_installed_version(configuration: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Rollback: every node back to the host's installed version (nodes already there are skipped)."""
    return rolling_upgrade("installed", configuration=configuration)


def cluster_versions(configuration: Mapping[str, Any] | None = None) -> dict[str, str]:
    """Probe: the GlusterFS version each node of the attached cluster runs."""
    return node_versions(target(configuration).cluster)


def cluster_runs_version(version: str = "installed", configuration: Mapping[str, Any] | None = None) -> bool:
    """Probe: True when every node runs `version` ("installed": the host's own)."""
    wanted = versions.installed_version() if version in ("", "installed") else str(version)
    found = node_versions(target(configuration).cluster)
    if not found:
        raise ConfigError("the attached cluster has no nodes")
    return set(found.values()) == {wanted}
