"""Which local clusters exist, who owns them, and which are stale.

Entries live in /run (tmpfs, like network namespaces): a reboot clears both together. Claiming an
index is an O_EXCL file create, so parallel pytest-xdist workers never get the same /24.
"""
from __future__ import annotations

import fcntl
import json
import os
import re
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Iterator

from ...errors import HarnessError
from .netplan import MAX_CLUSTERS, NAMESPACE_PREFIX
from .proc import process_start_time

REGISTRY_DIR = Path(os.environ.get("GLUSTER_HARNESS_REGISTRY", "/run/glusterharness"))
NAMESPACE_RE = re.compile(rf"^{NAMESPACE_PREFIX}(\d+)-")


@dataclass
class Entry:
    index: int
    root: str
    owner_pid: int
    owner_start: int | None
    persistent: bool = False  # left running on purpose (`python -m harness up`, --keep-cluster)

    @property
    def run_id(self) -> str:
        return f"{NAMESPACE_PREFIX}{self.index}"

    @property
    def owner_alive(self) -> bool:
        start = process_start_time(self.owner_pid)
        return start is not None and start == self.owner_start

    @property
    def stale(self) -> bool:
        return not self.persistent and not self.owner_alive


def _path(index: int) -> Path:
    return REGISTRY_DIR / f"{NAMESPACE_PREFIX}{index}.json"


@contextmanager
def locked() -> Iterator[None]:
    """Serialise claim and cleanup across processes."""
    REGISTRY_DIR.mkdir(parents=True, exist_ok=True)
    with open(REGISTRY_DIR / ".lock", "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        yield


def claim(root_base: Path, used_indexes: set[int]) -> Entry:
    """Claim the lowest free index (call under `locked()`)."""
    REGISTRY_DIR.mkdir(parents=True, exist_ok=True)
    pid = os.getpid()
    for index in range(MAX_CLUSTERS):
        if index in used_indexes:
            continue
        entry = Entry(index, str(root_base / f"{NAMESPACE_PREFIX}{index}"), pid, process_start_time(pid))
        try:
            fd = os.open(_path(index), os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            continue
        with os.fdopen(fd, "w") as fh:
            json.dump(asdict(entry), fh)
        return entry
    raise HarnessError(f"all {MAX_CLUSTERS} cluster slots are in use; run `python -m harness cleanup`")


def save(entry: Entry) -> None:
    tmp = _path(entry.index).with_suffix(".tmp")
    tmp.write_text(json.dumps(asdict(entry)))
    tmp.replace(_path(entry.index))


def load(index: int) -> Entry | None:
    try:
        return Entry(**json.loads(_path(index).read_text()))
    except FileNotFoundError:
        return None
    except (ValueError, TypeError) as exc:
        raise HarnessError(f"registry entry {_path(index)} is corrupt ({exc}); delete it and run cleanup") from exc


def entries() -> list[Entry]:
    if not REGISTRY_DIR.exists():
        return []
    found = []
    for p in sorted(REGISTRY_DIR.glob(f"{NAMESPACE_PREFIX}*.json")):
        entry = load(int(p.stem[len(NAMESPACE_PREFIX):]))
        if entry:
            found.append(entry)
    return found


def release(index: int) -> None:
    _path(index).unlink(missing_ok=True)


def index_of_namespace(name: str) -> int | None:
    m = NAMESPACE_RE.match(name)
    return int(m.group(1)) if m else None
