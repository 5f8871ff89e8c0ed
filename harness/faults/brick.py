"""Brick loss: a pod comes back with an EMPTY brick directory (its disk was replaced or wiped).

gluster refuses to start such a brick ("trusted.glusterfs.volume-id is absent"), so the brick
stays offline until someone recovers it: `recover()` is that action, by `reset-brick` (same path)
or `replace-brick ... commit force` (a new path), followed by a full heal. revert() recovers with
reset-brick when nobody did, and returns once the brick is online and heal has finished.

With cluster.brick-multiplex on, the killed glusterfsd also served bricks of other volumes on that
node: they are named in the fault's targets and start again when the pod comes back (only the
wiped brick cannot); the effect and the revert both confirm them online.
"""
from __future__ import annotations

import time
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Any, Mapping, Sequence

from ..errors import ConfigError, HarnessError
from ..gluster import GlusterError
from ..health import run_heal_command, wait_heal
from .base import Fault
from .hosted import (HostedBrick, find_brick, hosted_by, kill, online_in, other_node, started_volumes, status_all,
                     wait_hosted_back)

if TYPE_CHECKING:
    from ..cluster import Cluster
    from ..volume import Brick, Volume

RECOVERY_METHODS = ("reset-brick", "replace-brick")


class BrickLoss(Fault):
    kind = "brick-loss"

    def __init__(self, cluster: "Cluster", volume: "Volume", brick: "int | str | Brick" = 0,
                 heal_timeout: float = 120.0, collateral: "Sequence[HostedBrick | Mapping[str, Any]] | None" = None,
                 **kw: Any) -> None:
        super().__init__(cluster, **kw)
        self.volume = volume
        self.brick = find_brick(volume, brick)
        root = PurePosixPath(self.brick.node.brick_root)
        if root not in PurePosixPath(self.brick.path).parents:
            raise ConfigError(f"brick {self.brick.name} is not under {root}, which the harness made; "
                              f"the harness only empties brick directories it created")
        if not volume.spec.replicated and volume.spec.type.value != "disperse":
            raise ConfigError(f"brick loss on {volume.name} would lose data: it has no redundancy")
        self.heal_timeout = heal_timeout
        self.observer = other_node(cluster, [self.brick.node])
        self.recovered_with: str | None = None
        self.heal_seconds: float | None = None
        # Other bricks the killed process served (brick multiplexing); given when rebuilt from
        # the fault's description for a revert in another process.
        self.collateral: list[HostedBrick] = [HostedBrick.parse(c) for c in collateral or ()]

    def params(self) -> dict[str, Any]:
        params: dict[str, Any] = {"volume": self.volume.name, "brick": self.brick.index,
                                  "heal_timeout": self.heal_timeout}
        if self.collateral:
            params["collateral"] = [c.describe() for c in self.collateral]
        return params

    def targets(self) -> tuple[str, ...]:
        return (f"{self.volume.name}:{self.brick.node.name}:{self.brick.path}",
                *(f"{c.volume}:{self.brick.node.name}:{c.path}" for c in self.collateral))

    def _own_volumes(self) -> "list[Volume]":
        return [self.volume]

    def _online(self) -> bool:
        st = self.volume.status(self.observer).brick(self.brick.name)
        return bool(st and st.online)

    def _discover(self) -> int:
        """The pid of the brick's process; records every other brick it serves in self.collateral."""
        statuses = status_all(self.observer)
        own = next((v for v in statuses if v.name == self.volume.name), None)
        st = own.brick(self.brick.name) if own is not None else None
        if st is None or not st.online or st.pid is None:
            raise HarnessError(f"brick {self.brick.name} of {self.volume.name} is not online before the fault")
        shared = [h for h in hosted_by(statuses, st.hostname, st.pid) if h.brick != self.brick.name]
        self.collateral = list(dict.fromkeys([*self.collateral, *shared]))
        return st.pid

    def _prepare(self) -> None:
        self.collateral = []
        self._discover()

    def _apply(self) -> None:
        before = list(self.collateral)
        pid = self._discover()  # again, just before the kill: a volume started since may share the process
        if self.collateral != before:
            self.timeline.record(self.fault_id, self.kind, "step", self.targets(),
                                 action="bricks joined the process before the kill")
            self._save_state()
        if proc := kill(self.brick.node, pid):
            self.wait(proc.reaped, f"brick process {pid} to die and be reaped")
        node = self.brick.node
        node.run(["rm", "-rf", "--one-file-system", self.brick.path], timeout=120)
        node.run(["mkdir", "-p", self.brick.path], timeout=15)
        # The pod comes back: glusterd is asked to start the brick, and must refuse.
        try:
            self.cluster.gluster_from([]).xml("volume", "start", self.volume.name, "force")
        except GlusterError:
            pass  # expected: the brick's volume-id xattr is gone
        self._start_collateral()

    def _start_collateral(self) -> None:
        """Start the other volumes whose bricks the killed process served (the pod is back)."""
        names = [n for n in dict.fromkeys(c.volume for c in self.collateral) if n != self.volume.name]
        started = started_volumes(self.cluster) if names else set()
        cli = self.cluster.gluster_from([])
        for name in names:
            if name in started:
                cli.xml("volume", "start", name, "force")

    def _confirm_effect(self) -> dict[str, Any]:
        self.wait(lambda: not self._online(), f"brick {self.brick.name} to stay offline with an empty directory")
        listing = self.brick.node.run(["ls", "-A", self.brick.path], timeout=15).stdout.split()
        if listing:
            raise HarnessError(f"brick directory {self.brick.path} on {self.brick.node.name} is not empty: {listing}")
        if self.collateral:  # `start force` above (the pod is back) starts every brick but the wiped one
            self.wait(lambda: all(online_in(status_all(self.observer), c) for c in self.collateral),
                      f"bricks {', '.join(c.brick for c in self.collateral)} the killed process also served "
                      f"to be online again")
        return {"brick": self.brick.name, "collateral": [c.brick for c in self.collateral]}

    def recover(self, method: str = "reset-brick") -> float:
        """Bring the empty brick back and heal it fully; returns the heal seconds.

        reset-brick keeps the path; replace-brick moves the brick to a new directory beside it.
        """
        if method not in RECOVERY_METHODS:
            raise ConfigError(f"recovery method must be one of {', '.join(RECOVERY_METHODS)}, got {method!r}")
        cli = self.cluster.gluster_from([])
        name = self.brick.name
        if method == "reset-brick":
            cli.xml("volume", "reset-brick", self.volume.name, name, "start")
            cli.xml("volume", "reset-brick", self.volume.name, name, name, "commit", "force")
        else:
            new_path = f"{self.brick.path}-r{int(time.time() * 1000) % 100000}"
            new = type(self.brick)(self.brick.node, new_path, self.brick.index, self.brick.set_index,
                                   self.brick.is_arbiter)
            cli.xml("volume", "replace-brick", self.volume.name, name, new.name, "commit", "force")
            self.volume.bricks = tuple(new if b is self.brick else b for b in self.volume.bricks)
            self.brick = new
        self.volume.wait_bricks_online(timeout=self.timeout, via=self.observer)
        run_heal_command(self.volume, "full", timeout=self.timeout, via=self.observer)
        self.heal_seconds = wait_heal(self.volume, self.heal_timeout, via=self.observer).seconds
        self.recovered_with = method
        self.timeline.record(self.fault_id, self.kind, "step", self.targets(), action=f"recovered with {method}",
                             heal_seconds=round(self.heal_seconds, 3))
        return self.heal_seconds

    def _undo(self) -> None:
        if self.recovered_with is None and not self._online():
            self.recover("reset-brick")
        self._start_collateral()  # no-op for bricks already online; brings them back after a half-done inject

    def _confirm_revert(self) -> None:
        nested = any(f is not self for f in self.timeline.active_faults())
        self.confirm_whole()
        others = [c for c in self.collateral if c.volume != self.volume.name]
        if others and not nested:
            mounted = {m.volume.name for m in self.mounts}
            started = started_volumes(self.cluster)
            others = [c for c in others if c.volume in started]
            wait_hosted_back(self, others, self.observer, sorted({c.volume for c in others} - mounted))
