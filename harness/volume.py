"""Volumes from a spec: brick placement across zones, create/start/delete, typed state."""
from __future__ import annotations

import itertools
import logging
import time
from dataclasses import dataclass, field
from enum import Enum
from typing import TYPE_CHECKING, Mapping, Sequence

from .errors import ConfigError, HarnessError
from .gluster import HealEntriesBrick, HealSummary, VolumeInfo, VolumeStatus
from .waiting import wait_for

if TYPE_CHECKING:
    from .cluster import Cluster, Node

log = logging.getLogger("harness.volume")
_names = itertools.count(1)


class VolumeType(Enum):
    REPLICA2 = "replica2"
    REPLICA3 = "replica3"
    ARBITER = "arbiter"
    DISTRIBUTED_REPLICATE = "distributed-replicate"
    DISPERSE = "disperse"

    @classmethod
    def parse(cls, value: "str | VolumeType") -> "VolumeType":
        if isinstance(value, VolumeType):
            return value
        try:
            return cls(value)
        except ValueError:
            known = ", ".join(t.value for t in cls)
            raise ConfigError(f"unknown volume type {value!r}; known types: {known}") from None


@dataclass(frozen=True)
class VolumeSpec:
    """What to create. `options` are set before the volume starts."""

    type: VolumeType
    options: Mapping[str, str] = field(default_factory=dict)
    distribute: int = 1  # replica sets (distributed-replicate only)
    disperse_data: int = 2
    redundancy: int = 1

    def __post_init__(self) -> None:
        object.__setattr__(self, "type", VolumeType.parse(self.type))
        object.__setattr__(self, "options", dict(self.options))
        if self.type is VolumeType.DISTRIBUTED_REPLICATE and self.distribute < 2:
            object.__setattr__(self, "distribute", 2)
        if self.distribute < 1:
            raise ConfigError(f"distribute must be >= 1, got {self.distribute}")
        if self.type is VolumeType.DISPERSE and (self.redundancy < 1 or self.disperse_data <= self.redundancy):
            raise ConfigError(
                f"disperse needs redundancy >= 1 and data > redundancy, got {self.disperse_data}+{self.redundancy}"
            )

    @property
    def set_size(self) -> int:
        """Bricks per replica (or disperse) set."""
        if self.type is VolumeType.REPLICA2:
            return 2
        if self.type is VolumeType.DISPERSE:
            return self.disperse_data + self.redundancy
        return 3

    @property
    def sets(self) -> int:
        return self.distribute if self.type is VolumeType.DISTRIBUTED_REPLICATE else 1

    @property
    def brick_count(self) -> int:
        return self.set_size * self.sets

    def create_args(self) -> list[str]:
        if self.type is VolumeType.DISPERSE:
            return ["disperse", str(self.set_size), "redundancy", str(self.redundancy)]
        if self.type is VolumeType.ARBITER:
            return ["replica", "3", "arbiter", "1"]
        return ["replica", str(self.set_size)]

    @property
    def replicated(self) -> bool:
        return self.type is not VolumeType.DISPERSE

    def describe(self) -> dict:
        return {"type": self.type.value, "bricks": self.brick_count, "options": dict(self.options)}


@dataclass(frozen=True)
class BrickPlacement:
    node: str
    zone: str
    index: int
    set_index: int
    is_arbiter: bool


@dataclass(frozen=True)
class Placement:
    bricks: tuple[BrickPlacement, ...]
    notes: tuple[str, ...]  # where zones (or nodes) could not be kept distinct


def place_bricks(nodes: Sequence[tuple[str, str]], spec: VolumeSpec) -> Placement:
    """Choose a node for every brick so each set spans distinct zones where the zones allow it.

    `nodes` is (name, zone) in cluster order. Greedy per set: least-used node from a zone not yet in
    the set, else a node not yet in the set. Pure, so it is tested table-driven without a cluster.
    """
    if spec.set_size > len(nodes):
        raise ConfigError(
            f"{spec.type.value} needs {spec.set_size} nodes for one set, the cluster has {len(nodes)}: "
            f"raise --gluster-nodes or choose a smaller volume type"
        )
    usage = {name: 0 for name, _ in nodes}
    order = {name: i for i, (name, _) in enumerate(nodes)}
    bricks, notes = [], []
    zones_available = len({z for _, z in nodes})
    for s in range(spec.sets):
        chosen: list[tuple[str, str]] = []
        for _ in range(spec.set_size):
            free = [n for n in nodes if n[0] not in {c[0] for c in chosen}]
            other_zone = [n for n in free if n[1] not in {c[1] for c in chosen}]
            pool = other_zone or free
            pick = min(pool, key=lambda n: (usage[n[0]], order[n[0]]))
            usage[pick[0]] += 1
            chosen.append(pick)
        set_zones = {z for _, z in chosen}
        if len(set_zones) < spec.set_size:
            notes.append(
                f"set {s} of {spec.type.value} has {spec.set_size} bricks but spans only {len(set_zones)} zone(s) "
                f"({', '.join(sorted(set_zones))}); the cluster has {zones_available} zone(s)"
            )
        for k, (name, zone) in enumerate(chosen):
            is_arbiter = spec.type is VolumeType.ARBITER and k == spec.set_size - 1
            bricks.append(BrickPlacement(name, zone, s * spec.set_size + k, s, is_arbiter))
    return Placement(tuple(bricks), tuple(notes))


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
    name = name or f"v{next(_names)}"
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
