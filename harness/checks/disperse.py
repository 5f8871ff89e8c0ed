"""Disperse (erasure-coded) bricks: each file's EC xattrs agree across its disperse set, its fragments
have the size its length gives, nothing is dirty or pending heal, and every group of bricks that can
rebuild a file rebuilds the same content (its expected sha256 when the caller knows it).

EC keeps no checksum of a fragment: a fragment changed on one brick is only seen when a read decodes
from it. So each file is read through fresh mounts that leave out, in turn, each run of `redundancy`
bricks of the set: every brick is read by some mount and left out by another, and one bad fragment
makes two reads of the same file differ (or differ from the expected sha256).
"""
from __future__ import annotations

import time
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Mapping

from ..errors import HarnessError
from ..results import CheckResult
from .brick_snapshot import SETTLE_POLL_S, SETTLE_S, snapshot_brick

if TYPE_CHECKING:
    from ..volume import Volume

NAME = "bricks consistent"
EXPECTED = ("every brick of a disperse set agrees on each file's trusted.ec.version, size and config and "
            "holds a fragment of the size they give, nothing dirty or pending heal, and every file reads "
            "back the same (its expected sha256 when given) from every group of bricks that can rebuild it")
AGREED = ("trusted.ec.version", "trusted.ec.size", "trusted.ec.config")
MAX_LISTED = 50
READ_TIMEOUT_S = 120.0  # one file's read through a mount that must decode it without some bricks
READ_BATCH = 200  # paths per exec, well inside the request's argv limit

@dataclass(frozen=True)
class EcConfig:
    """trusted.ec.config: version, algorithm, word size, bricks, redundancy (8 bits each), chunk size (24)."""

    bricks: int
    redundancy: int
    chunk: int

    @classmethod
    def parse(cls, hex_value: str) -> "EcConfig":
        value = int(hex_value, 16)
        return cls((value >> 32) & 0xFF, (value >> 24) & 0xFF, value & 0xFFFFFF)

    def fragment_size(self, size: int) -> int:
        """Bytes each brick holds for a file of `size`: whole chunks, one per data brick per stripe."""
        stripe = self.chunk * (self.bricks - self.redundancy)
        return -(-size // stripe) * self.chunk


def compare_set(snaps: Mapping[str, Mapping[str, list]], set_size: int,
                redundancy: int) -> tuple[list[str], list[str], list[str]]:
    """(mismatches, dirty entries, regular files) of one disperse set, from snapshot_brick per brick."""
    mismatches: list[str] = []
    dirty: list[str] = []
    files: list[str] = []
    for path in sorted(set().union(*map(set, snaps.values()))):
        missing = [brick for brick, snap in snaps.items() if path not in snap]
        if missing:
            mismatches.append(f"{path}: missing on {', '.join(missing)}")
            continue
        kinds = {snap[path][0] for snap in snaps.values()}
        if len(kinds) > 1:
            mismatches.append(f"{path}: type differs: " + ", ".join(f"{b}={s[path][0]}" for b, s in snaps.items()))
            continue
        kind = kinds.pop()
        if kind == "l":
            if len({snap[path][1] for snap in snaps.values()}) > 1:
                mismatches.append(f"{path}: symlink target differs")
            continue
        for brick, snap in snaps.items():
            if int(snap[path][2].get("trusted.ec.dirty") or "0", 16):
                dirty.append(f"{path} on {brick}: trusted.ec.dirty={snap[path][2]['trusted.ec.dirty']}")
        # Directories carry a version only (and the brick root none); files all three.
        names = AGREED if kind == "f" else tuple(n for n in AGREED if any(n in s[path][2] for s in snaps.values()))
        for name in names:
            values = {brick: snap[path][2].get(name) for brick, snap in snaps.items()}
            if len(set(values.values())) > 1 or None in values.values():
                mismatches.append(f"{path}: {name} differs: " +
                                  ", ".join(f"{b}={v or 'absent'}" for b, v in values.items()))
        if kind != "f":
            continue
        files.append(path)
        first = next(iter(snaps.values()))[path][2]
        if any(n not in first for n in AGREED):
            continue  # already reported as absent
        config = EcConfig.parse(first["trusted.ec.config"])
        if (config.bricks, config.redundancy) != (set_size, redundancy):
            mismatches.append(f"{path}: trusted.ec.config says {config.bricks} bricks redundancy "
                              f"{config.redundancy}, the volume has {set_size} redundancy {redundancy}")
            continue
        want = config.fragment_size(int(first["trusted.ec.size"], 16))
        wrong = {brick: snap[path][3] for brick, snap in snaps.items() if snap[path][3] != want}
        if wrong:
            mismatches.append(f"{path}: fragment of {want} bytes expected (trusted.ec.size "
                              f"{int(first['trusted.ec.size'], 16)}), found " +
                              ", ".join(f"{b}={n}" for b, n in wrong.items()))
    return mismatches, dirty, files


def read_groups(set_size: int, redundancy: int) -> list[tuple[int, ...]]:
    """Per read, the positions in the set it leaves out: each run of `redundancy` consecutive bricks,
    so every brick is read by some reads and left out by others."""
    return [tuple((start + i) % set_size for i in range(redundancy)) for start in range(set_size)]


def check_disperse_consistent(volume: "Volume", expected_sha256: Mapping[str, str] | None = None,
                              settle_s: float = SETTLE_S) -> CheckResult:
    """Compare every disperse set's bricks, then read every file back through fresh mounts.

    EC marks a file dirty while a write holds its eager lock (a second after the last write); dirty
    entries and pending heal are given up to `settle_s` to clear. Unknown, never an exception, when a
    brick, heal info or a mount cannot answer. `expected_sha256` maps paths (relative to the volume
    root) to the content they must read back as; a path it names that no brick holds fails.
    """
    spec = volume.spec
    evidence: dict = {"volume": volume.name}
    try:
        deadline = time.monotonic() + settle_s
        while True:
            mismatches, dirty, files = [], [], []
            for disperse_set in volume.replica_sets():
                found = compare_set({b.name: snapshot_brick(b) for b in disperse_set}, spec.set_size, spec.redundancy)
                mismatches += found[0]
                dirty += found[1]
                files += [f for f in found[2] if f not in files]
            pending = volume.heal_summary().total_pending
            if (not dirty and pending == 0) or time.monotonic() >= deadline:
                break
            time.sleep(SETTLE_POLL_S)
        evidence.update(entries_compared=len(files), heal_pending=pending)
        reads = _read_back(volume, files)
    except HarnessError as exc:
        evidence["reason"] = str(exc)
        return CheckResult(NAME, None, f"could not judge: {exc}", EXPECTED, evidence)
    read_problems = _read_problems(reads, files, expected_sha256)
    evidence["reads"] = {"bricks left out " + ",".join(map(str, left_out)): len(sums)
                         for left_out, sums in reads.items()}
    passed: bool | None = not (mismatches or dirty or read_problems or pending)
    if passed and pending is None:
        passed = None
        evidence["reason"] = "heal info could not count pending entries on every brick"
    return CheckResult(
        NAME, passed,
        {"mismatches": mismatches[:MAX_LISTED], "dirty": dirty[:MAX_LISTED], "pending_heal": pending,
         "read_back": read_problems[:MAX_LISTED]},
        EXPECTED, evidence,
    )


def _read_back(volume: "Volume", files: list[str]) -> dict[tuple[int, ...], dict[str, str]]:
    """sha256 (or "error: ...") of every file, per group of bricks left out of a fresh mount."""
    cluster, size = volume.cluster, volume.spec.set_size
    reads: dict[tuple[int, ...], dict[str, str]] = {}
    for left_out in read_groups(size, volume.spec.redundancy):
        indices = [s * size + i for s in range(volume.spec.sets) for i in left_out]
        mount = cluster.mount(volume, leave_out=indices)
        try:
            reads[left_out] = _sums(mount, files)
        finally:
            cluster.unmount(mount)
    return reads


def _sums(mount, files: list[str]) -> dict[str, str]:
    """sha256 or "error: ..." of each file, read in the client host (mount.files; arguments only: a
    pod exec never ends standard input), a batch of files per exec."""
    reader = replace(mount.files, timeout=READ_TIMEOUT_S)
    sums: dict[str, str] = {}
    for i in range(0, len(files), READ_BATCH):
        batch = files[i:i + READ_BATCH]
        outcomes = reader.call([{"op": "sha256", "path": rel} for rel in batch])
        for rel, outcome in zip(batch, outcomes):
            sums[rel] = outcome["value"] if outcome["ok"] else f"error: {outcome['error']}"
        for rel in batch[len(outcomes):]:  # after a read without an answer nothing more was tried
            sums[rel] = "error: not read (an earlier read of its batch had no answer)"
    return sums


def _read_problems(reads: Mapping[tuple[int, ...], Mapping[str, str]], files: list[str],
                   expected: Mapping[str, str] | None) -> list[str]:
    problems = [f"{path}: expected, but no brick holds it" for path in sorted(expected or {}) if path not in files]
    for path in files:
        got = {left_out: sums[path] for left_out, sums in reads.items()}
        label = {left_out: "without brick " + ",".join(map(str, left_out)) for left_out in got}
        for left_out, value in got.items():
            if value.startswith("error: "):
                problems.append(f"{path}: read {label[left_out]} failed: {value[7:]}")
        sums = {k: v for k, v in got.items() if not v.startswith("error: ")}
        if expected is not None and path in expected:
            wrong = {k: v for k, v in sums.items() if v != expected[path]}
            if wrong:
                problems.append(f"{path}: expected sha256 {expected[path][:12]}…, read " +
                                ", ".join(f"{v[:12]}… {label[k]}" for k, v in wrong.items()))
        elif len(set(sums.values())) > 1:
            problems.append(f"{path}: content depends on the bricks read: " +
                            ", ".join(f"{v[:12]}… {label[k]}" for k, v in sums.items()))
    return problems
