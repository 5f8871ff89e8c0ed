"""Volumes from a spec (volume_spec.py places the bricks): create/start/delete, typed state."""
from __future__ import annotations

import itertools
import logging
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Sequence

from .errors import ConfigError, HarnessError
from .gluster import HealEntriesBrick, HealSummary, VolumeInfo, VolumeStatus
from .volume_spec import VolumeSpec, VolumeType, place_bricks  # noqa: F401 (VolumeType: suites take specs from here)
from .waiting import wait_for

if TYPE_CHECKING:
    from .cluster import Cluster, Node

log = logging.getLogger("harness.volume")
_names = itertools.count(1)


@dataclass(frozen=True, eq=False)
class Brick:
    node: "Node"
    path: str
    index: int
    set_index: int
    is_arbiter: bool

    @property
    def name(self) -> str:
        return f"{self.node.address}:{self.path}"


class Volume:
    """A created volume and the operations suites need on it."""

    def __init__(self, cluster: "Cluster", name: str, spec: VolumeSpec, bricks: Sequence[Brick], notes: Sequence[str]):
        self.cluster, self.name, self.spec = cluster, name, spec
        self.bricks = tuple(bricks)
        self.placement_notes = tuple(notes)
        self.deleted = False

    def __repr__(self) -> str:
        return f"Volume({self.name!r}, {self.spec.type.value})"

    @property
    def server_addresses(self) -> list[str]:
        return [n.address for n in self.cluster.nodes]

    def replica_sets(self) -> list[list[Brick]]:
        return [[b for b in self.bricks if b.set_index == s] for s in range(self.spec.sets)]

    def bricks_on(self, node: "Node") -> list[Brick]:
        return [b for b in self.bricks if b.node is node]

    def info(self) -> VolumeInfo:
        return self.cluster.gluster.volume_info(self.name)[0]

    def status(self, via: "Node | None" = None) -> VolumeStatus:
        return (via or self.cluster.nodes[0]).gluster.volume_status(self.name)

    def heal_summary(self, via: "Node | None" = None) -> HealSummary:
        return (via or self.cluster.nodes[0]).gluster.heal_summary(self.name)

    def heal_pending(self, via: "Node | None" = None) -> list[HealEntriesBrick]:
        return (via or self.cluster.nodes[0]).gluster.heal_pending(self.name)

    def split_brain(self, via: "Node | None" = None) -> list[HealEntriesBrick]:
        return (via or self.cluster.nodes[0]).gluster.heal_split_brain(self.name)

    def set(self, option: str, value: str) -> None:
        self.cluster.gluster.volume_set(self.name, option, value)

    def start(self, force: bool = False) -> None:
        self.cluster.gluster.xml("volume", "start", self.name, *(["force"] if force else []))

    def stop(self) -> None:
        self.cluster.gluster.xml("volume", "stop", self.name)

    def wait_bricks_online(self, timeout: float = 30.0, via: "Node | None" = None) -> VolumeStatus:
        """A failing CLI is "not known yet": right after a glusterd restart its peers answer
        "Volume ... does not exist" while it imports the volume from them again."""
        expected = {b.name for b in self.bricks}
        last: list[VolumeStatus | None] = [None]

        def probe() -> VolumeStatus | None:
            st = last[0] = self.status(via)
            online = {b.name for b in st.bricks if b.online}
            return st if expected <= online else None

        def describe() -> str:
            if last[0] is None:
                return "no answer yet"
            return ", ".join(f"{b.name}={'up' if b.online else 'down'}" for b in last[0].bricks)

        return wait_for(probe, timeout=timeout, what=f"every brick of {self.name} online", describe=describe,
                        tolerate=HarnessError)

    def delete(self) -> None:
        """Stop, delete, and remove the brick directories the harness made. Idempotent."""
        if self.deleted:
            return
        cli = self.cluster.gluster
        if self.name in cli.volume_names():
            if cli.volume_info(self.name)[0].status == "Started":
                self.stop()
            cli.xml("volume", "delete", self.name)
        for brick in self.bricks:
            brick.node.run(["rm", "-rf", "--one-file-system", brick.path], timeout=120)
        self.deleted = True


def create_volume(
    cluster: "Cluster", spec: VolumeSpec, name: str | None = None, *, phases: dict[str, float] | None = None
) -> Volume:
    """Create, configure and start a volume; return once every brick is online.

    With `phases`, the seconds spent in each step ("create", "options", "start", "online") are
    stored in it, so a caller (the provisioning storm) can tell where the time goes.
    """
    clock = _PhaseClock(phases)
    name = name or f"{cluster.volume_prefix}v{next(_names)}"
    if not name.replace("-", "").replace("_", "").isalnum():
        raise ConfigError(f"volume name {name!r} may hold only letters, digits, '-' and '_'")
    placement = place_bricks([(n.name, n.zone) for n in cluster.nodes], spec)
    for note in placement.notes:
        log.warning("brick placement for %s: %s", name, note)
    bricks = [
        Brick(cluster.node(p.node), cluster.node(p.node).brick_path(name, p.index), p.index, p.set_index, p.is_arbiter)
        for p in placement.bricks
    ]
    cli = cluster.gluster
    cli.xml("volume", "create", name, *spec.create_args(), "transport", "tcp", *(b.name for b in bricks), "force")
    clock.lap("create")
    volume = Volume(cluster, name, spec, bricks, placement.notes)
    try:
        for option, value in spec.options.items():
            cli.volume_set(name, option, str(value))
        clock.lap("options")
        volume.start()
        clock.lap("start")
        volume.wait_bricks_online()
        clock.lap("online")
    except BaseException:
        volume.delete()
        raise
    return volume


class _PhaseClock:
    """Stores the seconds since the previous lap under each lap's name (no-op without a dict)."""

    def __init__(self, phases: dict[str, float] | None) -> None:
        self.phases = phases
        self.last = time.monotonic()

    def lap(self, name: str) -> None:
        now = time.monotonic()
        if self.phases is not None:
            self.phases[name] = now - self.last
        self.last = now
