"""Brick consistency: every replica holds the same files with the same content, nothing pending."""
from __future__ import annotations

import time
from typing import TYPE_CHECKING, Mapping

from ..errors import HarnessError
from ..results import CheckResult
from .brick_snapshot import SETTLE_POLL_S, SETTLE_S, snapshot_brick
from .splitbrain import UNKNOWN_WAIT_S, split_brain_entries, unknown_words

if TYPE_CHECKING:
    from ..cluster import Node
    from ..volume import Volume

def _pending(xattrs: dict[str, str]) -> dict[str, str]:
    """Changelog xattrs with a non-zero counter (AFR's data, metadata, entry: 3 x 32 bits; EC's dirty)."""
    return {k: v for k, v in xattrs.items()
            if (k.startswith("trusted.afr.") or k == "trusted.ec.dirty") and int(v or "0", 16) != 0}


REPLICATE_TYPES = ("Replicate", "Distributed-Replicate")
DISPERSE_TYPES = ("Disperse", "Distributed-Disperse")
NAME = "bricks consistent"
EXPECTED = "every replica identical, no pending changelog, no split brain"


def check_bricks_consistent(volume: "Volume", settle_s: float = SETTLE_S, wait_s: float = UNKNOWN_WAIT_S,
                            via: "Node | None" = None,
                            expected_sha256: Mapping[str, str] | None = None) -> CheckResult:
    """Per replica (or disperse) set: same entries, same content, nothing pending, no split brain.

    The volume type is gluster's own (`volume info`), not the spec's: disperse volumes go to
    check_disperse_consistent; on replicated ones, arbiter bricks hold names and metadata only, so
    only their entries are compared. A type neither check can judge (plain distribute has no second
    copy to compare), or a brick or CLI that cannot answer, gives unknown with the reason.

    Counters of transactions still in flight (AFR's delayed post-op after the last write, which heal
    info does not count) are given up to `settle_s` to clear; a counter that stays is reported. A
    split-brain count of "-" is asked again for up to `wait_s` (split_brain_entries), of `via`'s CLI.
    `expected_sha256` maps paths (relative to the volume root) to the content each must hold.
    """
    try:
        kind = volume.info().type
        if kind in DISPERSE_TYPES:
            from .disperse import check_disperse_consistent

            return check_disperse_consistent(volume, expected_sha256, settle_s)
        if kind not in REPLICATE_TYPES:
            return CheckResult(NAME, None, f"cannot judge a {kind} volume",
                               EXPECTED,
                               {"volume": volume.name, "reason": f"{volume.name} is of type {kind}: only "
                                f"{', '.join(REPLICATE_TYPES + DISPERSE_TYPES)} volumes keep copies to compare"})
        deadline = time.monotonic() + settle_s
        while True:
            result = _compare_once(volume, expected_sha256, wait_s, via)
            pending_only = result.passed is False and not result.observed["mismatches"] \
                and not result.observed["split_brain_entries"]
            if not pending_only or time.monotonic() >= deadline:
                return result
            time.sleep(SETTLE_POLL_S)
    except HarnessError as exc:
        return CheckResult(NAME, None, f"could not judge: {exc}",
                           EXPECTED,
                           {"volume": volume.name, "reason": str(exc)})


def _compare_once(volume: "Volume", expected_sha256: Mapping[str, str] | None, wait_s: float,
                  via: "Node | None") -> CheckResult:
    mismatches: list[str] = []
    pending: list[str] = []
    files_checked = bricks = sets = 0
    snaps_seen: list[dict[str, list]] = []
    for replica_set in volume.replica_sets():
        sets, bricks = sets + 1, bricks + len(replica_set)
        snaps = {b.name: snapshot_brick(b) for b in replica_set}
        snaps_seen += snaps.values()
        arbiters = {b.name for b in replica_set if b.is_arbiter}
        all_paths = sorted(set().union(*[set(s) for s in snaps.values()]))
        for path in all_paths:
            missing = [brick for brick, snap in snaps.items() if path not in snap]
            if missing:
                mismatches.append(f"{path}: missing on {', '.join(missing)}")
                continue
            files_checked += 1
            contents = {brick: snap[path][1] for brick, snap in snaps.items() if brick not in arbiters}
            if len(set(contents.values())) > 1:
                mismatches.append(f"{path}: content differs: " +
                                  ", ".join(f"{b}={(c or '')[:12]}" for b, c in contents.items()))
            elif expected_sha256 and path in expected_sha256 and expected_sha256[path] not in contents.values():
                mismatches.append(f"{path}: sha256 {next(iter(contents.values()))[:12]}…, expected "
                                  f"{expected_sha256[path][:12]}…")
            for brick, snap in snaps.items():
                bad = _pending(snap[path][2])
                if bad:
                    pending.append(f"{path} on {brick}: {bad}")
    mismatches += [f"{path}: expected, but no brick holds it" for path in sorted(expected_sha256 or {})
                   if not any(path in snap for snap in snaps_seen)]
    entries, unknown = split_brain_entries(volume, via, wait_s)
    passed: bool | None = not (mismatches or pending or entries)
    observed = {"entries_compared": f"{files_checked} on {bricks} bricks ({sets} replica set{'s' * (sets != 1)})",
                "mismatches": mismatches[:50], "pending_xattrs": pending[:50], "split_brain_entries": entries}
    if passed and unknown:
        passed = None
        observed["unknown"] = unknown_words(unknown, wait_s)
    return CheckResult(
        NAME, passed, observed, EXPECTED,
        {"volume": volume.name, "entries_compared": files_checked, "bricks_unreachable": unknown,
         "mismatch_count": len(mismatches), "pending_count": len(pending)},
    )
