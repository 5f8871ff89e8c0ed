"""LatencyProbe's phase marks: a write in flight at a mark must not straddle it.

A plain directory stands in for the FUSE mount (the probe only needs a path). A FIFO named like
the probe's first file makes its first write block in open() until a reader comes: a stalled
write, on demand. Once released, the FIFO is unlinked so the probe's later writes to that name
(it cycles over 16 files) create a plain file and do not block.
"""
import os
import threading
from pathlib import Path
from types import SimpleNamespace

from harness.latency_probe import LatencyProbe
from harness.waiting import wait_for


def blocked_in_fifo_open(thread: threading.Thread) -> bool:
    return Path(f"/proc/self/task/{thread.native_id}/wchan").read_text() == "wait_for_partner"


def release(fifo: Path) -> None:
    os.close(os.open(fifo, os.O_RDONLY))
    fifo.unlink()


def test_mark_waits_for_the_write_in_flight(tmp_path):
    probe = LatencyProbe(SimpleNamespace(path=tmp_path), interval_s=0.001)
    probe.directory.mkdir()
    os.mkfifo(probe.directory / "p0")
    with probe:
        wait_for(lambda: blocked_in_fifo_open(probe._thread), timeout=10, what="the first write to block")
        marker = threading.Thread(target=probe.mark, args=("during_fault",))
        marker.start()
        release(probe.directory / "p0")
        marker.join()
        wait_for(lambda: len(probe.points) >= 3, timeout=10, what="writes after the mark")
    mark = probe.marks[-1][1]
    stalled = probe.points[0]
    assert stalled.t + stalled.latency_ms / 1000 <= mark, "the stalled write straddles the mark"
    assert all(p.t >= mark for p in probe.points[1:])
    assert [s["count"] for s in probe.phase_stats().values()] == [1, len(probe.points) - 1]


def test_mark_gives_up_on_a_write_blocked_past_its_settle_time(tmp_path):
    probe = LatencyProbe(SimpleNamespace(path=tmp_path))
    probe.directory.mkdir()
    os.mkfifo(probe.directory / "p0")
    with probe:
        wait_for(lambda: blocked_in_fifo_open(probe._thread), timeout=10, what="the first write to block")
        probe.mark("during_fault", settle_s=0.05)
        assert not probe.points, "the write is still blocked, yet the mark was taken"
        release(probe.directory / "p0")
    assert probe.points[0].t < probe.marks[-1][1], "the blocked write counts in the phase it began in"
