"""LatencyProbe: its log read by offset, its phase marks (a write in flight at a mark must not
straddle it), and its write loop run as a client host runs it (`python3 -c`, detached).

A bind mount of a test directory onto itself stands in for the FUSE mount (the loop refuses to
write anywhere but on a mount point). A FIFO named like the probe's first file makes its first
write block in open() until a reader comes: a stalled write, on demand. Once released, the FIFO
is unlinked so later writes to that name (the loop cycles over 16 files) create a plain file.
"""
import json
import os
import subprocess
from pathlib import Path
from types import SimpleNamespace

import pytest

from harness.latency_probe import LatencyProbe, ProbeLog
from harness.waiting import wait_for

from .thishost import ThisHost


def lines(*records: dict) -> str:
    return "".join(json.dumps(r) + "\n" for r in records)


def test_the_log_is_read_by_offset_and_a_cut_line_waits_for_its_end():
    log = ProbeLog()
    text = lines({"pid": 7}, {"n": 0, "t": 10.0}, {"n": 0, "t": 10.0, "ms": 5.0, "ok": True, "error": None},
                 {"n": 1, "t": 10.1})
    log.feed(text[:30])
    assert log.pid == 7 and log.offset == 30 and not log.points
    log.feed(text[30:])
    assert log.offset == len(text) and [p.latency_ms for p in log.points] == [5.0]
    assert log.in_flight == 10.1 and log.last_end == pytest.approx(10.005)
    log.feed(lines({"n": 1, "t": 10.1, "ms": 2.0, "ok": False, "error": "Transport endpoint is not connected"}))
    assert log.in_flight is None and log.errors == ["10.100 Transport endpoint is not connected"]
    log.feed(lines({"n": 2, "t": 11.0}))
    log.close(end=13.0)
    assert log.points[-1].ok is False and log.points[-1].latency_ms == pytest.approx(2000.0)


@pytest.fixture
def mount(tmp_path):
    """A mount point of this host for the loop to write on (a private bind mount, removed after)."""
    if os.geteuid() != 0:
        pytest.skip("a bind mount needs root")
    root, state = tmp_path / "mnt", tmp_path / "state"
    root.mkdir()
    state.mkdir()
    subprocess.run(["mount", "--bind", str(root), str(root)], check=True)
    try:
        yield SimpleNamespace(path=root, client=ThisHost(), state_dir=str(state))
    finally:
        subprocess.run(["umount", "-l", str(root)], check=True)


def blocked_in_fifo_open(pid: int | None) -> bool:
    return pid is not None and Path(f"/proc/{pid}/wchan").read_text() == "wait_for_partner"


def release(fifo: Path) -> None:
    os.close(os.open(fifo, os.O_RDONLY))
    fifo.unlink()


def stalled_probe(mount) -> LatencyProbe:
    probe = LatencyProbe(mount, interval_s=0.001)
    (mount.path / ".harness-latency").mkdir()
    os.mkfifo(mount.path / ".harness-latency" / "p0")
    return probe


def test_mark_waits_for_the_write_in_flight(mount):
    probe = stalled_probe(mount)
    with probe:
        wait_for(lambda: blocked_in_fifo_open(probe._read().pid), timeout=10, what="the first write to block")
        assert probe._log.in_flight is not None
        release(mount.path / ".harness-latency" / "p0")
        probe.mark("during_fault")
        wait_for(lambda: len(probe.points) >= 3, timeout=10, what="writes after the mark")
    points = probe.points
    mark = probe.marks[-1][1]
    # The writes seen before the mark (the stalled one and any after it) all ended before it.
    before = [p for p in points if p.t < mark]
    assert before[0] == points[0] and all(p.t + p.latency_ms / 1000 <= mark for p in before), "a write straddles"
    assert [s["count"] for s in probe.phase_stats().values()] == [len(before), len(points) - len(before)]


def test_mark_gives_up_on_a_write_blocked_past_its_settle_time_and_stop_kills_it(mount):
    """A hung mount: the mark is taken anyway, and stop ends the loop by SIGKILL; the write it
    killed is a failed point, never silence."""
    probe = stalled_probe(mount)
    with probe:
        wait_for(lambda: blocked_in_fifo_open(probe._read().pid), timeout=10, what="the first write to block")
        probe.mark("during_fault", settle_s=0.05)
        assert not probe.points, "the write is still blocked, yet a point was recorded"
        pid = probe._log.pid
        probe.stop(timeout=0.5)
        assert probe.stopped_by == "kill"
    assert not Path(f"/proc/{pid}").exists() or Path(f"/proc/{pid}/stat").read_text().split(") ")[1][0] == "Z"
    killed, = probe.points
    assert not killed.ok and killed.t < probe.marks[-1][1], "the blocked write counts in the phase it began in"
    assert probe.errors[0].endswith("no answer before the probe was stopped")


def test_a_probe_on_what_is_not_a_mount_records_failures(tmp_path):
    """The negative control: nothing written beside the mount point, every write a failure."""
    probe = LatencyProbe(SimpleNamespace(path=tmp_path, client=ThisHost(), state_dir=str(tmp_path)))
    with probe:
        wait_for(lambda: probe.failures() >= 3, timeout=10, what="failed writes")
    assert probe.failures() == len(probe.points) and "is not a mount point" in probe.errors[0]
    assert probe.stopped_by == "term"
    assert not (tmp_path / ".harness-latency").exists()
