"""What a client can do on a mount right now: read, write, create, mkdir, flock, link, symlink, setxattr."""
from __future__ import annotations

import errno
import fcntl
import itertools
import os
import time
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Mapping, Sequence

from ..directio import read_uncached
from ..mount import FuseMount
from ..results import CheckResult

PROBE_DIR = ".harness-probe"
EXISTING = "existing"
ALL_OPS = ("read", "write", "create", "mkdir", "flock", "link", "symlink", "setxattr")
OP_TIMEOUT_S = 20.0
PROBE_FILE_BYTES = 1 << 20  # > quick-read's largest max-file-size, 1000 KB
_seq = itertools.count(1)


@dataclass(frozen=True)
class OpOutcome:
    op: str
    ok: bool | None  # None: no answer within the timeout (unknown, like Jepsen's :info)
    errno: int | None
    error: str | None
    seconds: float

    @property
    def label(self) -> str:
        if self.ok:
            return "ok"
        if self.ok is None:
            return "timeout"
        return errno.errorcode.get(self.errno or 0, str(self.errno))


@dataclass(frozen=True)
class AccessReport:
    client: str
    mount: str
    outcomes: tuple[OpOutcome, ...]

    def labels(self) -> dict[str, str]:
        return {o.op: o.label for o in self.outcomes}


def prepare_access_probe(mount: FuseMount) -> Path:
    """Create the probe directory and its existing file while the volume is healthy. The file is larger
    than quick-read can ever hold (its max-file-size is at most 1000 KB), so no read of it is answered
    from quick-read's copy of a small file's content, which O_DIRECT does not bypass."""
    probe = mount.path / PROBE_DIR
    probe.mkdir(exist_ok=True)
    (probe / EXISTING).write_bytes(b"harness probe data\n".ljust(PROBE_FILE_BYTES, b"."))
    return probe


def _ops(probe: Path) -> dict[str, Callable[[], None]]:
    n = next(_seq)
    existing = probe / EXISTING

    def read() -> None:
        read_uncached(existing)  # never from a cache: the op judges whether the volume answers

    def write() -> None:
        with open(existing, "ab") as fh:
            fh.write(b"appended\n")
            fh.flush()
            os.fsync(fh.fileno())

    def create() -> None:
        with open(probe / f"new-{os.getpid()}-{n}", "xb") as fh:
            fh.write(b"new\n")
            os.fsync(fh.fileno())

    def flock() -> None:
        with open(existing, "rb") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
            fcntl.flock(fh, fcntl.LOCK_UN)

    return {
        "read": read,
        "write": write,
        "create": create,
        "mkdir": lambda: os.mkdir(probe / f"dir-{os.getpid()}-{n}"),
        "flock": flock,
        "link": lambda: os.link(existing, probe / f"link-{os.getpid()}-{n}"),
        "symlink": lambda: os.symlink(EXISTING, probe / f"sym-{os.getpid()}-{n}"),
        "setxattr": lambda: os.setxattr(existing, "user.harness", str(n).encode()),
    }


def probe_access(mount: FuseMount, ops: Sequence[str] = ALL_OPS, timeout: float = OP_TIMEOUT_S) -> AccessReport:
    """Try each op once through the mount and record ok / errno / timeout. Never raises for I/O errors."""
    unknown = set(ops) - set(ALL_OPS)
    if unknown:
        raise ValueError(f"unknown access ops {sorted(unknown)}; known: {', '.join(ALL_OPS)}")
    actions = _ops(mount.path / PROBE_DIR)
    outcomes = []
    # A hung mount blocks the calling thread until ping-timeout; a worker thread lets us give up.
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="access-probe")
    try:
        for op in ops:
            start = time.monotonic()
            future = pool.submit(actions[op])
            try:
                future.result(timeout=timeout)
                outcomes.append(OpOutcome(op, True, None, None, time.monotonic() - start))
            except FutureTimeout:
                outcomes.append(OpOutcome(op, None, None, f"no answer in {timeout} s", time.monotonic() - start))
                break  # the worker is stuck in the kernel; later ops would only queue behind it
            except OSError as exc:
                outcomes.append(OpOutcome(op, False, exc.errno, exc.strerror, time.monotonic() - start))
    finally:
        pool.shutdown(wait=False)
    return AccessReport(mount.client.name, str(mount.path), tuple(outcomes))


def check_access(report: AccessReport, expected: Mapping[str, str], name: str = "client access") -> CheckResult:
    """expected: op -> "ok" or an errno name such as "ENOTCONN". An op that timed out is unknown."""
    observed = report.labels()
    wrong = {op: observed.get(op, "not run") for op, want in expected.items() if observed.get(op) != want}
    unknown = [op for op in expected if observed.get(op) in ("timeout", None)]
    passed: bool | None = not wrong
    if wrong and set(wrong) <= set(unknown):
        passed = None
    return CheckResult(
        name=name,
        passed=passed,
        observed={op: observed.get(op, "not run") for op in expected},
        expected=dict(expected),
        evidence={"client": report.client, "mount": report.mount,
                  "errors": {o.op: o.error for o in report.outcomes if not o.ok},
                  "seconds": {o.op: round(o.seconds, 3) for o in report.outcomes}},
    )
