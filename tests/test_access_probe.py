"""The access probe's read asks the bricks, never a client cache (issue 20, item 2).

With 2 of 3 bricks down (quorum lost) a read must fail ENOTCONN. A plain read() of a file the client
read before is answered from the kernel's page cache instead, and an O_DIRECT read of a small file
from quick-read's copy of its content: both said "ok". The volume here sets every client cache of
GlusterFS 10.3 on, with its longest timeout, so that the caches stay warm however slow the machine.
"""
from __future__ import annotations

import mmap
import os

from harness.checks import check_access, prepare_access_probe, probe_access
from harness.checks import access
from harness.checks.access import EXISTING, PROBE_DIR
from harness.faults.process import KillBrick
from harness.volume import VolumeType

CACHES_ON = {
    "cluster.quorum-type": "auto",
    "performance.quick-read": "on", "performance.qr-cache-timeout": "60",
    "performance.io-cache": "on", "performance.cache-refresh-timeout": "60",
    "performance.read-ahead": "on",
    "performance.stat-prefetch": "on", "performance.md-cache-timeout": "60",
    "performance.open-behind": "on",
}


def direct_read(path) -> bytes:
    """One O_DIRECT read (page-aligned buffer), as the probe would do it without a big file."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECT)
    try:
        with mmap.mmap(-1, 4096) as buf:
            return buf[:os.readv(fd, [buf])]
    finally:
        try:
            os.close(fd)
        except OSError:
            pass  # the flush of an unreachable volume fails too; the read's outcome is what counts


def test_probe_read_fails_with_quorum_lost_though_caches_are_warm(gluster_cluster, volume_factory, mount_factory):
    volume = volume_factory(VolumeType.REPLICA3, CACHES_ON)
    writer = mount_factory(volume, gluster_cluster.clients[0])
    prepare_access_probe(writer)
    (writer.path / PROBE_DIR / "small").write_bytes(b"small enough for quick-read\n")
    # A fresh client: its first access of each name is a real LOOKUP, where quick-read fetches a small
    # file's content; the reads fill the page cache (and io-cache, read-ahead for non-direct fds).
    reader = mount_factory(volume, gluster_cluster.clients[1])
    existing, small = reader.path / PROBE_DIR / EXISTING, reader.path / PROBE_DIR / "small"
    content = existing.read_bytes()
    assert direct_read(small) == small.read_bytes() == b"small enough for quick-read\n"
    assert probe_access(reader, ["read"]).labels() == {"read": "ok"}
    with KillBrick(gluster_cluster, volume, [1, 2], mounts=[writer, reader]):
        # The premise: the caches answer for a volume that cannot (else this test would prove nothing).
        assert existing.read_bytes() == content, "the page cache no longer answers: this control lost its teeth"
        assert direct_read(small) == b"small enough for quick-read\n", "quick-read no longer answers O_DIRECT"
        report = probe_access(reader, ["read", "write"])
        during = check_access(report, {"read": "ENOTCONN", "write": "ENOTCONN"}, "probe with quorum lost")
    assert during.passed is True, during.explain()
    after = check_access(probe_access(reader, ["read"]), {"read": "ok"}, "probe read after the revert")
    assert after.passed is True, after.explain()


def test_uncached_read_returns_the_whole_file(volume_factory, mount_factory):
    mount = mount_factory(volume_factory(VolumeType.REPLICA3))
    data = os.urandom(3 * (1 << 16) + 123)  # several direct-I/O chunks and a short last one
    (mount.path / "f").write_bytes(data)
    assert access.read_uncached(mount.path / "f") == data
    probe = prepare_access_probe(mount)
    assert access.read_uncached(probe / EXISTING).startswith(b"harness probe data\n")
