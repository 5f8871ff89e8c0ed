"""Volume specs and brick placement: pure data and planning, no cluster needed."""
from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Mapping, Sequence

from .errors import ConfigError


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
