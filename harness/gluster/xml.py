"""Parsers for `gluster ... --xml` output into frozen dataclasses.

Unknown stays unknown: a brick that answers "-" (unreachable) has counts of None, never 0.
"""
from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass, field


class XMLShapeError(ValueError):
    """The CLI's XML did not have the shape this parser expects."""


def _text(el: ET.Element, path: str, default: str | None = None) -> str:
    child = el.find(path)
    if child is None or child.text is None:
        if default is not None:
            return default
        raise XMLShapeError(f"missing <{path}> in <{el.tag}>")
    return child.text.strip()


def _int_or_none(value: str | None) -> int | None:
    """Gluster writes "-" or "N/A" for a value it could not get; keep that as None."""
    if value is None:
        return None
    value = value.strip()
    try:
        return int(value)
    except ValueError:
        return None


def parse_root(text: str) -> ET.Element:
    try:
        return ET.fromstring(text)
    except ET.ParseError as exc:
        raise XMLShapeError(f"gluster printed no valid XML ({exc}): {text[:200]!r}") from exc


@dataclass(frozen=True)
class Peer:
    uuid: str
    hostname: str
    connected: bool
    state: str


def parse_peer_status(root: ET.Element) -> list[Peer]:
    return [
        Peer(
            uuid=_text(p, "uuid"),
            hostname=_text(p, "hostname"),
            connected=_text(p, "connected") == "1",
            state=_text(p, "stateStr", ""),
        )
        for p in root.findall("peerStatus/peer")
    ]


@dataclass(frozen=True)
class BrickInfo:
    name: str  # host:path
    host: str
    path: str
    is_arbiter: bool


@dataclass(frozen=True)
class VolumeInfo:
    name: str
    status: str  # Started, Stopped, Created
    type: str  # Replicate, Distributed-Replicate, Disperse, ...
    brick_count: int
    replica_count: int
    arbiter_count: int
    disperse_count: int
    redundancy_count: int
    bricks: tuple[BrickInfo, ...]
    options: dict[str, str] = field(default_factory=dict)


def parse_volume_info(root: ET.Element) -> list[VolumeInfo]:
    volumes = []
    for v in root.findall("volInfo/volumes/volume"):
        bricks = []
        for b in v.findall("bricks/brick"):
            name = _text(b, "name")
            host, _, path = name.partition(":")
            bricks.append(BrickInfo(name, host, path, _text(b, "isArbiter", "0") == "1"))
        volumes.append(
            VolumeInfo(
                name=_text(v, "name"),
                status=_text(v, "statusStr"),
                type=_text(v, "typeStr"),
                brick_count=int(_text(v, "brickCount")),
                replica_count=int(_text(v, "replicaCount")),
                arbiter_count=int(_text(v, "arbiterCount", "0")),
                disperse_count=int(_text(v, "disperseCount", "0")),
                redundancy_count=int(_text(v, "redundancyCount", "0")),
                bricks=tuple(bricks),
                options={_text(o, "name"): _text(o, "value", "") for o in v.findall("options/option")},
            )
        )
    return volumes


@dataclass(frozen=True)
class BrickStatus:
    hostname: str
    path: str  # brick path, or "localhost" for daemons
    online: bool
    port: int | None
    pid: int | None

    @property
    def name(self) -> str:
        return f"{self.hostname}:{self.path}"


@dataclass(frozen=True)
class DaemonStatus:
    name: str  # "Self-heal Daemon", ...
    host: str  # address of the node it runs on ("localhost" for the answering node)
    online: bool
    pid: int | None


@dataclass(frozen=True)
class VolumeStatus:
    name: str
    bricks: tuple[BrickStatus, ...]
    daemons: tuple[DaemonStatus, ...]

    def brick(self, name: str) -> BrickStatus | None:
        return next((b for b in self.bricks if b.name == name), None)

    @property
    def all_bricks_online(self) -> bool:
        return bool(self.bricks) and all(b.online for b in self.bricks)

    def self_heal_daemons(self) -> list[DaemonStatus]:
        return [d for d in self.daemons if d.name == "Self-heal Daemon"]


def _is_daemon(hostname: str, path: str) -> bool:
    # Daemon rows put the daemon's name where a brick row has its host, and the host (or
    # "localhost") where a brick row has its path.
    return path == "localhost" or not path.startswith("/")


def parse_volume_status(root: ET.Element) -> list[VolumeStatus]:
    result = []
    for v in root.findall("volStatus/volumes/volume"):
        bricks, daemons = [], []
        for n in v.findall("node"):
            hostname, path = _text(n, "hostname"), _text(n, "path")
            pid = _int_or_none(_text(n, "pid", "-1"))
            pid = pid if pid and pid > 0 else None
            online = _text(n, "status") == "1"
            if _is_daemon(hostname, path):
                daemons.append(DaemonStatus(hostname, path, online, pid))
            else:
                bricks.append(BrickStatus(hostname, path, online, _int_or_none(_text(n, "port", "N/A")), pid))
        result.append(VolumeStatus(_text(v, "volName"), tuple(bricks), tuple(daemons)))
    return result


def parse_volume_clients(root: ET.Element) -> dict[str, frozenset[str]]:
    """`volume status VOL clients`: per brick ("host:path"), the addresses its clients connect
    from (ports dropped). An offline brick has none."""
    clients = {}
    for n in root.findall("volStatus/volumes/volume/node"):
        hostname, path = _text(n, "hostname"), _text(n, "path")
        if not _is_daemon(hostname, path):
            clients[f"{hostname}:{path}"] = frozenset(
                _text(c, "hostname").rsplit(":", 1)[0] for c in n.findall("clientsStatus/client"))
    return clients


@dataclass(frozen=True)
class HealBrickSummary:
    brick: str
    status: str  # "Connected", "Transport endpoint is not connected", ...
    pending: int | None
    split_brain: int | None
    possibly_healing: int | None

    @property
    def reachable(self) -> bool:
        return self.pending is not None


@dataclass(frozen=True)
class HealSummary:
    bricks: tuple[HealBrickSummary, ...]

    @property
    def total_pending(self) -> int | None:
        """Sum over bricks, or None when any brick is unreachable (unknown is never 0)."""
        if not self.bricks or any(b.pending is None for b in self.bricks):
            return None
        return sum(b.pending for b in self.bricks)  # type: ignore[misc]

    @property
    def total_split_brain(self) -> int | None:
        if not self.bricks or any(b.split_brain is None for b in self.bricks):
            return None
        return sum(b.split_brain for b in self.bricks)  # type: ignore[misc]


def parse_heal_summary(root: ET.Element) -> HealSummary:
    bricks = []
    for b in root.findall("healInfo/bricks/brick"):
        bricks.append(
            HealBrickSummary(
                brick=_text(b, "name"),
                status=_text(b, "status", ""),
                pending=_int_or_none(_text(b, "numberOfEntriesInHealPending", "-")),
                split_brain=_int_or_none(_text(b, "numberOfEntriesInSplitBrain", "-")),
                possibly_healing=_int_or_none(_text(b, "numberOfEntriesPossiblyHealing", "-")),
            )
        )
    return HealSummary(tuple(bricks))


@dataclass(frozen=True)
class HealEntriesBrick:
    """One brick of `heal info` or `heal info split-brain` (both list entries the same way)."""

    brick: str
    status: str
    entries: tuple[str, ...]  # paths (or gfid:... when gluster knows no path)
    count: int | None


def parse_heal_entries(root: ET.Element) -> list[HealEntriesBrick]:
    result = []
    for b in root.findall("healInfo/bricks/brick"):
        entries = tuple((f.text or f.get("gfid", "")).strip() for f in b.findall("file"))
        result.append(
            HealEntriesBrick(
                brick=_text(b, "name"),
                status=_text(b, "status", ""),
                entries=entries,
                count=_int_or_none(_text(b, "numberOfEntries", "-")),
            )
        )
    return result
