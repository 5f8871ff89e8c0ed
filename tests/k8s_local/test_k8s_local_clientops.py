"""A mount's file API and the latency probe inside a client pod of a k8s-local cluster: every file op
once on a replica-3 volume (what it wrote read back from the bricks), a few seconds of the latency
probe, and the negative controls: an op on a missing path is ENOENT as data, a probe on a mount whose
FUSE client died records failed writes, not silence."""
from __future__ import annotations

import errno
import time

import pytest

from harness.errors import HarnessError
from harness.history import FileStore
from harness.latency_probe import LatencyProbe
from harness.mountfiles import programs_of
from harness.waiting import wait_for

from .conftest import k8s_built
from .test_k8s_local_gluster import bricks_holding

pytestmark = k8s_built

PROBE_POINTS = 30




def test_every_file_op_runs_in_the_client_pod(cluster, volume):
    mount = cluster.mount(volume)
    files = mount.files
    start = time.monotonic()
    files.mkdir("d")
    files.write("d/a", b"written-in-pod", mtime=1_000_000)
    assert files.read("d/a") == b"written-in-pod" and files.read("d/a", uncached=False) == b"written-in-pod"
    assert files.stat("d/a")["mtime_ns"] == 1_000_000 * 10**9 and files.stat("d")["is_dir"]
    files.utime("d/a", 2_000_000)
    assert files.stat("d/a")["mtime_ns"] == 2_000_000 * 10**9
    assert files.write_many({f"d/f{n:02d}": b"x" * 8192 for n in range(20)}) == (20, None)
    store = FileStore(files.sub("d"))
    store.write("key", "value-1")
    assert store.read("key") == "value-1" and store.read("absent") is None
    files.unlink("d/f19")
    assert files.listdir("d") == sorted(["a", "key", *[f"f{n:02d}" for n in range(19)]])
    elapsed = time.monotonic() - start
    assert bricks_holding(cluster, volume, "d/a", "written-in-pod") == sorted(n.name for n in cluster.nodes)
    # The negative control: a missing path is ENOENT as data, raised naming the client and the path.
    outcome, = files.call([{"op": "read", "path": "d/missing"}])
    assert outcome["ok"] is False and outcome["errno"] == errno.ENOENT
    with pytest.raises(FileNotFoundError, match=f"client {mount.client.name}:{mount.path}/d/missing"):
        files.stat("d/missing")
    print(f"12 file-op calls in the pod: {elapsed:.1f} s")
    cluster.unmount(mount)


def test_one_client_program_in_the_pod_answers_many_calls(cluster, volume):
    """File calls go to one program kept running in the pod over one exec websocket. The negative
    control: that program killed, the next call fails naming the client, and the one after starts
    another; a program whose websocket is closed leaves the pod."""
    mount = cluster.mount(volume)
    files, client = mount.files, mount.client

    def program_pid() -> int:
        return int(files.read("/proc/self/stat", uncached=False).split()[0])

    first = program_pid()
    start = time.monotonic()
    files.mkdir("many")
    for n in range(30):
        files.write(f"many/{n}", b"", fsync=False)
    elapsed = time.monotonic() - start
    assert program_pid() == first
    client.run(["kill", "-9", str(first)])
    with pytest.raises(HarnessError, match=f"client {client.name} gave no file-op answer: python3 in client "
                                           f"{client.name} ended"):
        files.stat("many")
    second = program_pid()
    assert second != first
    programs_of(client).close()
    wait_for(lambda: not client.run(["test", "-e", f"/proc/{second}"], check=False).ok, timeout=20,
             what=f"the client program {second} to leave the pod once its websocket closed")
    print(f"30 file-op calls through one program in the pod: {elapsed:.2f} s")
    cluster.unmount(mount)


def test_latency_probe_writes_in_the_client_pod(cluster, volume):
    mount = cluster.mount(volume)
    with LatencyProbe(mount) as probe:
        start = time.monotonic()
        wait_for(lambda: len(probe.points) >= PROBE_POINTS, timeout=60, what=f"{PROBE_POINTS} probe writes")
        probe.mark("second")
        at = probe.marks[-1][1]
        wait_for(lambda: sum(1 for p in probe.points if p.t >= at) >= 5, timeout=60, what="writes after the mark")
        pid = probe._log.pid
    points = probe.points
    print(f"{len(points)} probe writes in {time.monotonic() - start:.1f} s; phases {probe.phase_stats()}")
    assert len(points) >= PROBE_POINTS and probe.failures() == 0 and not probe.errors
    assert set(probe.phase_stats()) == {"before", "second"}
    assert all(p.t >= at or p.t + p.latency_ms / 1000 <= at for p in points), "a write straddles the mark"
    # Ended by SIGTERM after its write, and reaped by the pod's PID 1 (pause: the pod shares its
    # process namespace), not left a zombie.
    assert probe.stopped_by == "term"
    wait_for(lambda: not mount.client.run(["test", "-e", f"/proc/{pid}"], check=False).ok, timeout=10,
             what=f"the stopped probe loop {pid} to be reaped")
    assert len(mount.files.listdir(".harness-latency")) == 16
    cluster.unmount(mount)


def test_latency_probe_on_a_mount_whose_client_died_records_failures(cluster, volume):
    """The negative control: the FUSE client killed, every write fails (ENOTCONN), none is silent."""
    mount = cluster.mount(volume)
    pid = mount.pid
    mount.client.run(["kill", "-9", str(pid)])
    try:
        with LatencyProbe(mount) as probe:
            wait_for(lambda: probe.failures() >= 5, timeout=60, what="failed probe writes")
        assert probe.failures() >= 5 and probe.failures() == len(probe.points)
        assert "Transport endpoint is not connected" in probe.errors[0]
        with pytest.raises(OSError) as err:
            mount.files.read("d/a")
        assert err.value.errno == errno.ENOTCONN
    finally:
        mount.client.run(["umount", "-l", str(mount.path)], check=False)
        cluster.unmount(mount)
