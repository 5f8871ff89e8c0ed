"""Brick consistency: every replica holds the same files with the same content, nothing pending."""
from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING

from ..results import CheckResult
from .splitbrain import UNKNOWN_WAIT_S, split_brain_entries, unknown_words

if TYPE_CHECKING:
    from ..cluster import Node
    from ..volume import Brick, Volume

SETTLE_S = 10.0
SETTLE_POLL_S = 0.5

# Runs inside the node (python3 is in every gluster server image): walks the brick backend,
# skipping gluster's own .glusterfs and AFR's lazily made .glusterfs-anonymous-inode-*, and prints {path: [type, sha256 or None, {afr xattr: hex}]}.
SNAPSHOT_SCRIPT = r"""
import hashlib, json, os, sys
root = sys.argv[1]
out = {}
def xattrs(p):
    found = {}
    for name in os.listxattr(p, follow_symlinks=False):
        if name.startswith("trusted.afr.") or name == "trusted.ec.dirty":
            found[name] = os.getxattr(p, name, follow_symlinks=False).hex()
    return found
for d, dirs, files in os.walk(root):
    if d == root:
        dirs[:] = [x for x in dirs if not x.startswith(".glusterfs")]
    for name in dirs + files:
        p = os.path.join(d, name)
        rel = os.path.relpath(p, root)
        if os.path.islink(p):
            out[rel] = ["l", os.readlink(p), {}]
        elif os.path.isdir(p):
            out[rel] = ["d", None, xattrs(p)]
        else:
            h = hashlib.sha256()
            with open(p, "rb") as fh:
                for chunk in iter(lambda: fh.read(1 << 20), b""):
                    h.update(chunk)
            out[rel] = ["f", h.hexdigest(), xattrs(p)]
out["."] = ["d", None, xattrs(root)]
json.dump(out, sys.stdout)
"""


def snapshot_brick(brick: "Brick") -> dict[str, list]:
    return json.loads(brick.node.run(["python3", "-c", SNAPSHOT_SCRIPT, brick.path], timeout=300).stdout)


def _pending(xattrs: dict[str, str]) -> dict[str, str]:
    """AFR changelog xattrs with a non-zero counter (data, metadata, entry: 3 x 32 bits)."""
    return {k: v for k, v in xattrs.items() if int(v or "0", 16) != 0}


def check_bricks_consistent(volume: "Volume", settle_s: float = SETTLE_S, wait_s: float = UNKNOWN_WAIT_S,
                            via: "Node | None" = None) -> CheckResult:
    """Per replica set: same entries, same content on data bricks, no pending AFR counters, no split brain.

    Arbiter bricks hold names and metadata only, so only their entries are compared. Disperse
    bricks hold fragments, so their entries and dirty counters are compared, not content.

    Counters of transactions still in flight (AFR's delayed post-op after the last write, which heal
    info does not count) are given up to `settle_s` to clear; a counter that stays is reported. A
    split-brain count of "-" is asked again for up to `wait_s` (split_brain_entries), of `via`'s CLI.
    """
    deadline = time.monotonic() + settle_s
    while True:
        result = _compare_once(volume, wait_s, via)
        pending_only = result.passed is False and not result.observed["mismatches"] \
            and not result.observed["split_brain_entries"]
        if not pending_only or time.monotonic() >= deadline:
            return result
        time.sleep(SETTLE_POLL_S)


def _compare_once(volume: "Volume", wait_s: float, via: "Node | None") -> CheckResult:
    mismatches: list[str] = []
    pending: list[str] = []
    files_checked = bricks = sets = 0
    for replica_set in volume.replica_sets():
        sets, bricks = sets + 1, bricks + len(replica_set)
        snaps = {b.name: snapshot_brick(b) for b in replica_set}
        arbiters = {b.name for b in replica_set if b.is_arbiter}
        all_paths = sorted(set().union(*[set(s) for s in snaps.values()]))
        for path in all_paths:
            missing = [brick for brick, snap in snaps.items() if path not in snap]
            if missing:
                mismatches.append(f"{path}: missing on {', '.join(missing)}")
                continue
            files_checked += 1
            if volume.spec.replicated:
                contents = {brick: snap[path][1] for brick, snap in snaps.items() if brick not in arbiters}
                if len(set(contents.values())) > 1:
                    mismatches.append(f"{path}: content differs: " +
                                      ", ".join(f"{b}={(c or '')[:12]}" for b, c in contents.items()))
            for brick, snap in snaps.items():
                bad = _pending(snap[path][2])
                if bad:
                    pending.append(f"{path} on {brick}: {bad}")
    entries, unknown = split_brain_entries(volume, via, wait_s)
    passed: bool | None = not (mismatches or pending or entries)
    observed = {"entries_compared": f"{files_checked} on {bricks} bricks ({sets} replica set{'s' * (sets != 1)})",
                "mismatches": mismatches[:50], "pending_xattrs": pending[:50], "split_brain_entries": entries}
    if passed and unknown:
        passed = None
        observed["unknown"] = unknown_words(unknown, wait_s)
    return CheckResult(
        "bricks consistent", passed, observed,
        "every replica identical, no pending changelog, no split brain",
        {"volume": volume.name, "entries_compared": files_checked, "bricks_unreachable": unknown,
         "mismatch_count": len(mismatches), "pending_count": len(pending)},
    )
