"""Rolling upgrade (and downgrade) of a cluster's GlusterFS, one node at a time, as an operator
does it: check that the step can end well (harness.upgrade_preflight: healed, whole, quorum kept
with the node down, an op-version the target runs, volume types fit for online upgrade; refused
before the node is stopped otherwise), stop the node's gluster (glusterd, bricks, self-heal
daemon), swap its version, start it, wait until its bricks are online, every peer is Connected
and in the cluster, every client child is up and pending heal is 0, then go on to the next node.
Each pre-flight, step and failed step goes on the Timeline with the version of every node, so a
report can show versions per node over time; a revert that leaves nodes at different versions
says so ("revert-partial"), never "revert-confirmed".

A defect found on the way is named, never hidden: GlusterFS 11 drops `nfs.disable=on` from a
volume's stored info, so its checksum differs from 10.x peers' and the upgraded node is
rejected (gluster/glusterfs#4016). With `workarounds=("4016",)` the upgrade records the finding,
applies the workaround (harness.upgrade_pool.work_around_4016) and goes on.
"""
from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any, Callable, Sequence

from . import upgrade_preflight
from .control import Capability
from .errors import ConfigError, HarnessError
from .faults.base import Fault
from .faults.hosted import signal_pids
from .gluster import versions
from .gluster.glusterd_log import GLUSTERD_LOG, running_version
from .health import wait_volume_whole
from .providers.host.proc import procs
from .timeline import Phase
from .upgrade_pool import (ISSUE_4016, WORKAROUNDS, Finding, PeerRejected, diagnose_rejection, handshakes,
                           peer_states, pool_whole, rejected_pairs, volume_names, wait_handshakes, work_around_4016)
from .upgrade_preflight import Preflight, UpgradeRefused
from .waiting import wait_for

if TYPE_CHECKING:
    from .cluster import Cluster, Node
    from .volume import Volume

log = logging.getLogger("harness.upgrade")

STOPPED = "stopped"  # a node's "version" while it is down for its swap


def node_versions(cluster: "Cluster") -> dict[str, str]:
    return {n.name: n.version for n in cluster.nodes}


# --- the rolling step -------------------------------------------------------------------------

def stop_node(node: "Node", timeout: float) -> dict[str, Any]:
    """Stop everything gluster on a node as a pod's termination does (SIGTERM), and wait until
    every process is reaped: the next glusterd must not find a brick it still sees running."""
    pids = node.pids()
    stopped = procs(pids)
    signal_pids(node, pids, "TERM")
    wait_for(lambda: all(p.reaped() for p in stopped), timeout=timeout, interval=0.05,
             what=f"gluster processes of {node.name} to exit after SIGTERM",
             describe=lambda: ", ".join(f"{p.pid}={p.state()}" for p in stopped if not p.reaped()))
    return {"stopped": len(stopped)}


class RollingUpgrade(Fault):
    """Every node (in `nodes` order, default all) swapped to `version` in turn, the volume whole
    and healed between steps, each step checked before its node is stopped (UpgradeRefused, see
    harness.upgrade_preflight; `allow_offline_types` lets disperse and pure distribute volumes
    through). inject() returns when the last node is done; revert() does not downgrade the nodes
    done (an upgrade is meant to stay; run another RollingUpgrade to go back) but brings a node
    stopped mid-step back up at the version it ran before, so the pool is whole again."""

    kind = "rolling-upgrade"
    needs = frozenset({Capability.PROCESS_FAULTS, Capability.GLUSTER_VERSIONS})

    def __init__(self, cluster: "Cluster", version: str, volumes: "Sequence[Volume]" = (), nodes: Sequence[str] = (),
                 heal_timeout: float = 120.0, workarounds: Sequence[str] = (), allow_offline_types: bool = False,
                 on_step: "Callable[[Node, dict[str, Any]], None] | None" = None, **kw: Any) -> None:
        super().__init__(cluster, **kw)
        self.version = str(version)
        self.order = [cluster.node(n) for n in nodes] if nodes else list(cluster.nodes)
        if len({n.name for n in self.order}) != len(self.order):
            raise ConfigError(f"rolling upgrade names a node twice: {[n.name for n in self.order]}")
        if self.version != versions.installed_version():
            versions.require(self.version)  # refused before anything changes when not fetched
        unknown = sorted(set(workarounds) - set(WORKAROUNDS))
        if unknown:
            raise ConfigError(f"unknown workarounds {unknown}; known: {', '.join(sorted(WORKAROUNDS))}")
        if heal_timeout <= 0:
            raise ConfigError(f"heal_timeout must be positive, got {heal_timeout}")
        self._volumes = list(volumes)
        self.heal_timeout = heal_timeout
        self.workarounds = tuple(workarounds)
        self.allow_offline_types = allow_offline_types
        self.preflights: list[Preflight] = []
        self.steps: list[dict[str, Any]] = []
        self.findings: list[Finding] = []
        self._stopped: "tuple[Node, str] | None" = None  # (node, the version it ran) while down mid-step
        self.on_step = on_step  # called after each node's step (a test checks its data there)
        # (time, phase, version per node) at each node's stop, its glusterd's start and the end of
        # its step; between stop and start a node is "stopped".
        self.points: list[dict[str, Any]] = []

    def params(self) -> dict[str, Any]:
        return {"version": self.version, "volumes": [v.name for v in self._volumes],
                "nodes": [n.name for n in self.order], "heal_timeout": self.heal_timeout,
                "workarounds": list(self.workarounds), "allow_offline_types": self.allow_offline_types}

    def targets(self) -> tuple[str, ...]:
        return tuple(n.name for n in self.order)

    def _own_volumes(self) -> "list[Volume]":
        return self._volumes

    def _todo(self) -> "list[Node]":
        return [n for n in self.order if n.version != self.version]

    def _prepare(self) -> None:
        """The first step's pre-flight: a refusal here comes before anything started."""
        if self._todo():
            self.preflight(self._todo()[0])

    def _apply(self) -> None:
        self.timeline.record(self.fault_id, self.kind, "versions", self.targets(), versions=node_versions(self.cluster))
        for node in self._todo():
            if not self.preflights or self.preflights[-1].node != node.name:
                self.preflight(node)
            self.steps.append(self.upgrade_node(node))
            if self.on_step is not None:
                self.on_step(node, self.steps[-1])

    def preflight(self, node: "Node") -> Preflight:
        """Check the step of `node` before stopping it; on the Timeline as "preflight", or as
        "refused" with the reasons, then UpgradeRefused."""
        result = upgrade_preflight.check(self.cluster, node, self.version, self.allow_offline_types)
        self.preflights.append(result)
        self.timeline.record(self.fault_id, self.kind, "refused" if result.reasons else "preflight", (node.name,),
                             versions=node_versions(self.cluster), **result.to_dict())
        if result.reasons:
            raise UpgradeRefused(node.name, self.version, node.version, result.reasons)
        return result

    def upgrade_node(self, node: "Node") -> dict[str, Any]:
        """One node's step; a failure is recorded as "step-failed" (node, versions, error)."""
        before = node.version
        try:
            return self._step(node, before)
        except BaseException as exc:
            self.timeline.record(self.fault_id, self.kind, "step-failed", (node.name,), node=node.name,
                                 error=str(exc)[:2000], versions=node_versions(self.cluster),
                                 **{"from": before, "to": self.version})
            raise

    def _step(self, node: "Node", before: str) -> dict[str, Any]:
        start = time.monotonic()
        self.points.append({"t": time.time(), "phase": f"{node.name} stopping",
                            "versions": {**node_versions(self.cluster), node.name: STOPPED}})
        self._stopped = (node, before)
        stop = stop_node(node, self.timeout)
        node.set_version(self.version)
        shaken = handshakes(self.cluster, node)
        node.start_glusterd()
        self._stopped = None
        started = running_version(node)
        if started != self.version:
            raise HarnessError(f"{node.name} was swapped to GlusterFS {self.version} but its glusterd logged "
                               f"version {started!r} at start ({GLUSTERD_LOG})")
        self.points.append({"t": time.time(), "phase": f"{node.name} started {started}",
                            "versions": node_versions(self.cluster)})
        wait_handshakes(self.cluster, node, shaken, self.timeout)
        peers = self.wait_pool(node)
        heal = {}
        for volume in self.volumes():
            mounts = [m for m in self.mounts if m.volume is volume]
            heal[volume.name] = round(wait_volume_whole(volume, mounts, timeout=self.heal_timeout,
                                                        via=node).heal.seconds, 3)
        step = {"node": node.name, "from": before, "to": self.version, "glusterd_logged": started,
                "seconds": round(time.monotonic() - start, 3), "heal_seconds": heal, **stop, **peers,
                "versions": node_versions(self.cluster)}
        self.timeline.record(self.fault_id, self.kind, "step", (node.name,), **step)
        self.points.append({"t": time.time(), "phase": f"{node.name} at {self.version}", "versions": step["versions"]})
        log.info("%s: %s -> %s in %.1f s", node.name, before, self.version, step["seconds"])
        return step

    def wait_pool(self, node: "Node") -> dict[str, Any]:
        """Until every peer is in the cluster and Connected. A rejection is a finding: with its
        workaround enabled it is worked around and the wait goes on, else PeerRejected."""
        last: list[dict] = [{}]

        def settled() -> bool:
            last[0] = peer_states(self.cluster)
            return pool_whole(self.cluster, last[0]) or bool(rejected_pairs(last[0]))

        start = time.monotonic()
        wait_for(settled, timeout=self.timeout, interval=0.1, what=f"peers of {node.name} to settle after its start",
                 describe=lambda: str(last[0]))
        rejected = rejected_pairs(last[0])
        if not rejected:
            return {"peers_s": round(time.monotonic() - start, 3)}
        finding = diagnose_rejection(self.cluster, node, self.version, rejected,
                                     volume_names(self.cluster, node, self.volumes()))
        self.findings.append(finding)
        self.timeline.record(self.fault_id, self.kind, "finding", (node.name,), **finding.to_dict())
        if finding.issue != ISSUE_4016 or "4016" not in self.workarounds:
            raise PeerRejected(f"{node.name} at GlusterFS {self.version}: {'; '.join(rejected)}. {finding.issue}",
                               finding.to_dict())
        work_around_4016(self.cluster, self.volumes(), node, self.timeout)
        finding.worked_around = True
        return {"peers_s": round(time.monotonic() - start, 3), "finding": finding.issue}

    def _confirm_effect(self) -> dict[str, Any]:
        wrong = {n: v for n, v in node_versions(self.cluster).items()
                 if v != self.version and self.cluster.node(n) in self.order}
        if wrong:
            raise HarnessError(f"after the rolling upgrade to {self.version} these nodes run other versions: {wrong}")
        return {"steps": self.steps, "findings": [f.to_dict() for f in self.findings],
                "versions": node_versions(self.cluster)}

    def _undo(self) -> None:
        stopped, self._stopped = self._stopped, None
        if stopped is not None and stopped[0].glusterd_pid() is None:
            node, before = stopped
            if not node.pids():  # its old version back: the new one did not come up
                node.set_version(before)
            node.start_glusterd()

    def _reverted_as(self) -> tuple[Phase, dict[str, Any]]:
        found = node_versions(self.cluster)
        if len(set(found.values())) > 1:
            return Phase.REVERTED_PARTLY, {"versions": found, "left": f"mixed-version cluster: {found}"}
        return Phase.REVERTED, {"versions": found}
