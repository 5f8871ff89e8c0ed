"""What a client can do on a mount right now: read, write, create, mkdir, flock, link, symlink, setxattr.

The operations run inside the mount's client host (harness.clientops as `python3 -c`), never on a
path of this host, so the probe means the same on every provider: in a client network namespace of
the local provider and in a client pod of a Kubernetes one.
"""
from __future__ import annotations

import errno
import itertools
import json
import os
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Mapping, Sequence

from ..clientops import ALL_OPS, EXISTING
from ..errors import HarnessError
from ..mount import FuseMount
from ..mountfiles import SCRIPT, START_MARGIN_S
from ..results import CheckResult

PROBE_DIR = ".harness-probe"
OP_TIMEOUT_S = 20.0
_seq = itertools.count(1)

__all__ = ["ALL_OPS", "EXISTING", "PROBE_DIR", "AccessReport", "OpOutcome", "check_access", "prepare_access_probe",
           "probe_access"]


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


def _attempt(mount: FuseMount, ops: Sequence[str], timeout: float) -> list[OpOutcome]:
    probe = str(PurePosixPath(mount.path) / PROBE_DIR)
    request = {"probe": probe, "ops": list(ops), "tag": f"{os.getpid()}-{next(_seq)}", "timeout": timeout}
    result = mount.client.run(["python3", "-c", SCRIPT, json.dumps(request)],
                              timeout=len(ops) * timeout + START_MARGIN_S)
    return [OpOutcome(o["op"], o["ok"], o["errno"], o["error"], o["seconds"]) for o in json.loads(result.stdout)]


def prepare_access_probe(mount: FuseMount) -> PurePosixPath:
    """Create the probe directory and its existing file (clientops.prepare) while the volume is healthy;
    HarnessError if the client cannot."""
    outcome, = _attempt(mount, ["prepare"], OP_TIMEOUT_S)
    if not outcome.ok:
        raise HarnessError(f"client {mount.client.name} could not prepare the access probe on {mount.path}: "
                           f"{outcome.label} ({outcome.error}); is the volume whole?")
    return PurePosixPath(mount.path) / PROBE_DIR


def probe_access(mount: FuseMount, ops: Sequence[str] = ALL_OPS, timeout: float = OP_TIMEOUT_S) -> AccessReport:
    """Try each op once inside the mount's client host and record ok / errno / timeout (after a
    timeout no further op is tried). Never raises for I/O errors."""
    unknown = set(ops) - set(ALL_OPS)
    if unknown:
        raise ValueError(f"unknown access ops {sorted(unknown)}; known: {', '.join(ALL_OPS)}")
    return AccessReport(mount.client.name, str(mount.path), tuple(_attempt(mount, ops, timeout)))


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
