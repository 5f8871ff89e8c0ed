"""Split brain: entries `heal info split-brain` reports, and files whose read returns EIO."""
from __future__ import annotations

import errno
from typing import TYPE_CHECKING, Sequence

from ..results import CheckResult

if TYPE_CHECKING:
    from ..cluster import Node
    from ..mount import FuseMount
    from ..volume import Volume


def split_brain_entries(volume: "Volume", via: "Node | None" = None) -> tuple[list[str], list[str]]:
    """(entries listed by gluster, bricks that could not answer)."""
    entries, unknown = [], []
    for brick in volume.split_brain(via):
        if brick.count is None:
            unknown.append(brick.brick)
        entries.extend(e for e in brick.entries if e not in entries)
    return entries, unknown


def eio_reads(mount: "FuseMount", paths: Sequence[str]) -> list[str]:
    failing = []
    for rel in paths:
        try:
            (mount.path / rel).read_bytes()
        except OSError as exc:
            if exc.errno == errno.EIO:
                failing.append(rel)
    return failing


def check_no_split_brain(volume: "Volume", mount: "FuseMount | None" = None, paths: Sequence[str] = (),
                         via: "Node | None" = None) -> CheckResult:
    """Passes when gluster lists no split-brain entry and no given path reads EIO; unknown if a brick can't say."""
    entries, unknown = split_brain_entries(volume, via)
    eio = eio_reads(mount, paths) if mount is not None else []
    passed: bool | None = not entries and not eio
    if passed and unknown:
        passed = None
    return CheckResult(
        "no split brain", passed,
        {"split_brain_entries": entries, "eio_reads": eio},
        {"split_brain_entries": [], "eio_reads": []},
        {"volume": volume.name, "bricks_unreachable": unknown, "paths_read": list(paths)},
    )
