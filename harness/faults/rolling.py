"""Rolling restart: every node's gluster pod restarted in turn, waiting between steps for the
volumes to be whole (bricks online, client children up) and pending heal to reach 0, as an
operator does before an upgrade. Each step goes on the Timeline. A step is RestartPod where this
host signals the node's processes (local), else the pod deleted through the API (Kubernetes)."""
from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, Sequence

from ..control import Capability
from ..errors import ConfigError
from ..health import wait_volume_whole
from .base import Fault
from .crash import RestartPod
from .pod import DeleteGlusterPod

if TYPE_CHECKING:
    from ..cluster import Cluster
    from ..volume import Volume


class RollingRestart(Fault):
    kind = "rolling-restart"
    needs_one_of = Capability.POD_RESTARTS

    def __init__(self, cluster: "Cluster", volumes: "Sequence[Volume]" = (), nodes: Sequence[str] = (),
                 heal_timeout: float = 120.0, **kw: Any) -> None:
        super().__init__(cluster, **kw)
        self.order = [cluster.node(n) for n in nodes] if nodes else list(cluster.nodes)
        if len({n.name for n in self.order}) != len(self.order):
            raise ConfigError(f"rolling restart names a node twice: {[n.name for n in self.order]}")
        if heal_timeout <= 0:
            raise ConfigError(f"heal_timeout must be positive, got {heal_timeout}")
        self._volumes = list(volumes)
        self.heal_timeout = heal_timeout
        self.steps: list[dict[str, Any]] = []
        self._current: Fault | None = None

    def params(self) -> dict[str, Any]:
        return {"volumes": [v.name for v in self._volumes], "nodes": [n.name for n in self.order],
                "heal_timeout": self.heal_timeout}

    def targets(self) -> tuple[str, ...]:
        return tuple(n.name for n in self.order)

    def _own_volumes(self) -> "list[Volume]":
        return self._volumes

    def _apply(self) -> None:
        for node in self.order:
            start = time.monotonic()
            self._current = self._restart(node.name)
            self._current.inject()
            self._current.revert()
            self._current = None
            heal = {}
            for volume in self.volumes():  # whole again before the next node goes down
                mounts = [m for m in self.mounts if m.volume is volume]
                heal[volume.name] = round(wait_volume_whole(volume, mounts, timeout=self.heal_timeout).heal.seconds, 3)
            step = {"node": node.name, "seconds": round(time.monotonic() - start, 3), "heal_seconds": heal}
            self.steps.append(step)
            self.timeline.record(self.fault_id, self.kind, "step", (node.name,), **step)

    def _restart(self, node: str) -> Fault:
        if self.mechanism == Capability.PROCESS_FAULTS:
            return RestartPod(self.cluster, node, volumes=self.volumes(), timeline=self.timeline,
                              timeout=self.timeout, mounts=self._mounts)
        # its own timeout: a new pod's start includes the kubelet's sync, longer than a fault's
        return DeleteGlusterPod(self.cluster, node, timeline=self.timeline, mounts=self._mounts)

    def _confirm_effect(self) -> dict[str, Any]:
        return {"steps": self.steps}

    def _undo(self) -> None:
        if self._current is not None:  # interrupted mid-step: that node must come back
            self._current.revert()
            self._current = None
