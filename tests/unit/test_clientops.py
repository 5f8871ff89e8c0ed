"""The access probe's operations as a client host runs them (`python3 -c SCRIPT REQUEST`), on a plain
directory of this host: no mount, no root. What a volume answers is the cluster lane's business; here
the program's contract: outcomes as JSON, errno as data, a per-op timeout after which nothing more is
tried and the program still exits."""
from __future__ import annotations

import errno
import os
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from harness.checks.access import PROBE_DIR, prepare_access_probe, probe_access
from harness.control import Host
from harness.errors import HarnessError

from .thishost import ThisHost


@dataclass
class Directory:
    """What the probe uses of a mount: its client host and its path."""

    path: Path
    client: Host = ThisHost()


def test_every_op_succeeds_on_a_writable_directory(tmp_path):
    mount = Directory(tmp_path)
    probe = prepare_access_probe(mount)
    assert os.path.getsize(probe / "existing") == 1 << 20
    ops = ["read", "write", "create", "mkdir", "flock", "link", "symlink", "setxattr"]
    report = probe_access(mount, ops)
    assert report.labels() == dict.fromkeys(ops, "ok")
    assert report.client == "here" and all(o.seconds >= 0 for o in report.outcomes)
    made = sorted(p.name.split("-")[0] for p in (tmp_path / PROBE_DIR).iterdir() if p.name != "existing")
    assert made == ["dir", "link", "new", "sym"]
    assert os.getxattr(probe / "existing", "user.harness")


def test_a_failing_op_is_data_with_its_errno(tmp_path):
    """The negative control: without the probe directory every op fails, each with its own errno."""
    report = probe_access(Directory(tmp_path), ["write", "mkdir", "symlink"])
    assert report.labels() == dict.fromkeys(["write", "mkdir", "symlink"], "ENOENT")
    assert {o.errno for o in report.outcomes} == {errno.ENOENT} and all(o.ok is False for o in report.outcomes)


def test_prepare_names_the_client_when_it_cannot(tmp_path):
    (tmp_path / PROBE_DIR).write_text("a file where the probe directory belongs")
    with pytest.raises(HarnessError, match="client here could not prepare the access probe.*EEXIST"):
        prepare_access_probe(Directory(tmp_path))


def test_an_op_without_an_answer_is_a_timeout_and_ends_the_probe(tmp_path):
    """A FIFO without a writer blocks open() for good, as a hung mount blocks every op: the outcome is
    unknown (timeout), no later op is tried, and the program exits although its worker is stuck."""
    (tmp_path / PROBE_DIR).mkdir()
    os.mkfifo(tmp_path / PROBE_DIR / "existing")
    start = time.monotonic()
    report = probe_access(Directory(tmp_path), ["write", "mkdir"], timeout=0.5)
    assert report.labels() == {"write": "timeout"}
    assert report.outcomes[0].ok is None and report.outcomes[0].error == "no answer in 0.5 s"
    assert time.monotonic() - start < 10


def test_unknown_ops_are_refused_before_anything_runs(tmp_path):
    with pytest.raises(ValueError, match="unknown access ops"):
        probe_access(Directory(tmp_path), ["read", "truncate"])
