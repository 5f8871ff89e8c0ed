"""Split brain: entries `heal info split-brain` reports, files whose read returns EIO, and whether a
resolution kept the copy its policy must keep (and left every brick holding it)."""
from __future__ import annotations

import errno
import hashlib
import json
import time
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Sequence

from ..results import CheckResult
from ..waiting import read_until

if TYPE_CHECKING:
    from ..cluster import Node
    from ..mount import FuseMount
    from ..volume import Brick, Volume


UNKNOWN_WAIT_S = 30.0  # how long a split-brain count of "-" is waited out before it is reported unknown


def split_brain_entries(volume: "Volume", via: "Node | None" = None,
                        wait_s: float = UNKNOWN_WAIT_S) -> tuple[list[str], list[str]]:
    """(entries listed by gluster, bricks that could not answer, each "BRICK (its status)").

    Right after a revert a brick answers "-" for a moment (glfsheal not connected to it yet): a
    count unknown is asked again for up to `wait_s` seconds before it is returned as unknown.
    """
    bricks = read_until(lambda: volume.split_brain(via), lambda found: all(b.count is not None for b in found),
                        timeout=wait_s, what=f"every brick of {volume.name} to answer `heal info split-brain`")
    entries, unknown = [], []
    for brick in bricks:
        if brick.count is None:
            unknown.append(unanswered(brick.brick, brick.status))
        entries.extend(e for e in brick.entries if e not in entries)
    return entries, unknown


def unanswered(brick: str, status: str) -> str:
    """A brick heal info had no count from, with gluster's word for why."""
    return f"{brick} ({status or 'no status'})"


def unknown_words(unknown: Sequence[str], wait_s: float) -> str:
    return f"split-brain count unknown after {wait_s:.0f} s: {', '.join(unknown)} answered \"-\""


def eio_reads(mount: "FuseMount", paths: Sequence[str]) -> list[str]:
    failing = []
    for rel in paths:
        try:
            mount.files.read(rel)  # uncached, in the client host: a cached copy would hide the EIO
        except OSError as exc:
            if exc.errno == errno.EIO:
                failing.append(rel)
    return failing


def check_no_split_brain(volume: "Volume", mount: "FuseMount | None" = None, paths: Sequence[str] = (),
                         via: "Node | None" = None, wait_s: float = UNKNOWN_WAIT_S) -> CheckResult:
    """Passes when gluster lists no split-brain entry and no given path reads EIO; unknown if a brick
    can't say within `wait_s` (split_brain_entries)."""
    entries, unknown = split_brain_entries(volume, via, wait_s)
    eio = eio_reads(mount, paths) if mount is not None else []
    passed: bool | None = not entries and not eio
    observed = {"split_brain_entries": entries, "eio_reads": eio}
    if passed and unknown:
        passed = None
        observed["unknown"] = unknown_words(unknown, wait_s)
    return CheckResult(
        "no split brain", passed, observed,
        {"split_brain_entries": [], "eio_reads": []},
        {"volume": volume.name, "bricks_unreachable": unknown, "paths_read": list(paths)},
    )


# Runs inside the node: one file's copy on one brick (sha256, size, mtime, AFR changelog xattrs).
# The mtime AFR compares is the one posix returns: with features.ctime (on by default) that is the
# trusted.glusterfs.mdata xattr (packed big-endian: version u8, flags u64, ctime, mtime, atime as
# sec u64 + nsec u64), else the backend's stat mtime; both are printed.
COPY_SCRIPT = r"""
import hashlib, json, os, struct, sys
p = os.path.join(sys.argv[1], sys.argv[2])
try:
    st = os.stat(p)
except FileNotFoundError:
    json.dump(None, sys.stdout)
    sys.exit(0)
h = hashlib.sha256()
with open(p, "rb") as fh:
    for chunk in iter(lambda: fh.read(1 << 20), b""):
        h.update(chunk)
names = os.listxattr(p)
afr = {n: os.getxattr(p, n).hex() for n in names if n.startswith("trusted.afr.")}
mdata = None
if "trusted.glusterfs.mdata" in names:
    raw = os.getxattr(p, "trusted.glusterfs.mdata")
    if len(raw) >= 41:
        sec, nsec = struct.unpack(">QQ", raw[25:41])
        mdata = sec * 10**9 + nsec
json.dump({"sha256": h.hexdigest(), "size": st.st_size, "stat_mtime_ns": st.st_mtime_ns,
           "mdata_mtime_ns": mdata, "afr": afr}, sys.stdout)
"""


@dataclass(frozen=True)
class BrickCopy:
    """One brick's copy of a file, as the brick's backend holds it (sha256 None: no such file)."""

    brick: str
    index: int
    sha256: str | None
    size: int | None = None
    mtime_ns: int | None = None  # what gluster reports: the mdata xattr's, else the backend's
    afr_pending: dict[str, str] = field(default_factory=dict)

    @property
    def label(self) -> str:
        return f"brick {self.index}'s copy"

    def describe(self) -> str:
        if self.sha256 is None:
            return f"brick {self.index}: no such file"
        mtime = "?"
        if self.mtime_ns is not None:
            seconds, ns = divmod(self.mtime_ns, 10**9)
            mtime = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{ns // 10**6:03d}Z"
        return f"{self.label} (sha256 {self.sha256[:12]}…, {_size(self.size)}, mtime {mtime})"


def _size(n: int | None) -> str:
    if n is None:
        return "? bytes"
    return f"{n // 1024} KiB" if n >= 1024 and n % 1024 == 0 else f"{n} bytes"


def _copy(brick: "Brick", rel: str) -> BrickCopy:
    found = json.loads(brick.node.run(["python3", "-c", COPY_SCRIPT, brick.path, rel.lstrip("/")],
                                      timeout=120).stdout)
    if found is None:
        return BrickCopy(brick.name, brick.index, None)
    mtime = found["mdata_mtime_ns"] if found["mdata_mtime_ns"] is not None else found["stat_mtime_ns"]
    pending = {k: v for k, v in found["afr"].items() if int(v or "0", 16) != 0}
    return BrickCopy(brick.name, brick.index, found["sha256"], found["size"], mtime, pending)


def brick_copies(volume: "Volume", rel: str) -> list[BrickCopy]:
    """Each data brick's copy of `rel` in the replica set holding it (arbiters hold no content); the first
    set's (all absent) when none holds it."""
    found = []
    for replica_set in volume.replica_sets():
        copies = [_copy(b, rel) for b in replica_set if not b.is_arbiter]
        if any(c.sha256 for c in copies):
            return copies
        found = found or copies
    return found


# Policies by the name `volume heal V split-brain ...` or cluster.favorite-child-policy gives them.
POLICY_KEYS = {"latest-mtime": "mtime", "mtime": "mtime", "bigger-file": "size", "size": "size"}


def expected_winner(copies: Sequence[BrickCopy], policy: str, source_brick: str | None = None) -> BrickCopy | None:
    """The copy a resolution by `policy` must keep, decided from the bricks before it runs.

    None when the policy cannot decide (equal mtimes or sizes: gluster then refuses to resolve).
    """
    present = [c for c in copies if c.sha256 is not None]
    if policy == "source-brick":
        return next((c for c in present if source_brick in (c.brick, str(c.index))), None)
    key = POLICY_KEYS.get(policy)
    if key is None:
        raise ValueError(f"no winner rule for policy {policy!r}")
    value = (lambda c: c.mtime_ns) if key == "mtime" else (lambda c: c.size)
    ranked = sorted(present, key=lambda c: value(c) or 0, reverse=True)
    if len(ranked) < 2 or value(ranked[0]) == value(ranked[1]):
        return None
    return ranked[0]


def check_split_brain_resolved(volume: "Volume", mount: "FuseMount", rel: str, winner: BrickCopy,
                               before: Sequence[BrickCopy] = ()) -> CheckResult:
    """After a split-brain resolution: the mount reads the expected winner's content, every data brick of
    the replica set holds it, its AFR changelog is clear, and heal info lists no pending or split-brain entry.

    `before` (the copies as they were before resolution) lets the words name which copy was read instead.
    Read through a mount that holds no copy in its cache: the writer's mount can serve its own last write.
    """
    known = {c.sha256: c.label for c in before if c.sha256}

    def whose(sha: str | None) -> str:
        if sha is None:
            return "nothing"
        if sha == winner.sha256:
            return f"the winner's copy ({winner.label})"
        return f"{known[sha]}, not the winner's" if sha in known else f"content of neither copy (sha256 {sha[:12]}…)"

    try:
        read = hashlib.sha256(mount.files.read(rel.lstrip("/"))).hexdigest()
        read_error = None
    except OSError as exc:
        read, read_error = None, exc.strerror or str(exc)
    after = brick_copies(volume, rel)
    wrong_bricks = [c for c in after if c.sha256 != winner.sha256]
    with_pending = [c for c in after if c.afr_pending]
    entries, unknown = split_brain_entries(volume)
    heal = volume.heal_pending()
    pending_entries = [e for b in heal for e in b.entries]
    unknown += [u for u in (unanswered(b.brick, b.status) for b in heal if b.count is None) if u not in unknown]

    problems = []
    if read_error:
        problems.append(f"the mount's read failed: {read_error}")
    elif read != winner.sha256:
        problems.append(f"the mount reads {whose(read)}")
    problems += [f"brick {c.index} holds {whose(c.sha256)}" for c in wrong_bricks]
    problems += [f"brick {c.index} still has pending AFR changelog {c.afr_pending}" for c in with_pending]
    if entries:
        problems.append(f"split-brain entries remain: {', '.join(entries)}")
    if pending_entries:
        problems.append(f"pending heal entries remain: {', '.join(pending_entries[:10])}")
    passed: bool | None = not problems
    if passed and unknown:
        passed = None
    bricks = "both bricks" if len(after) == 2 else f"all {len(after)} data bricks"
    if problems:
        observed = "; ".join(problems)
    elif unknown:
        observed = f"{winner.describe()} won and is read; bricks {', '.join(unknown)} could not answer heal info"
    else:
        observed = f"{winner.describe()} won; the mount reads it, {bricks} hold it, no pending or split-brain entry"
    return CheckResult(
        "split brain resolved to the expected copy", passed, observed,
        f"{winner.describe()} wins; the mount reads it, {bricks} hold it, no pending or split-brain entry",
        {"volume": volume.name, "path": rel, "winner": asdict(winner), "mount_read_sha256": read,
         "mount_read_error": read_error, "before": [asdict(c) for c in before], "after": [asdict(c) for c in after],
         "split_brain_entries": entries, "pending_entries": pending_entries, "bricks_unreachable": unknown},
    )
