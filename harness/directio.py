"""Reads through a FUSE mount that the bricks answer, not a client cache."""
from __future__ import annotations

import mmap
import os
from pathlib import Path

DIRECT_IO_CHUNK = 1 << 16  # a multiple of every page and block size O_DIRECT may require here


def read_uncached(path: Path) -> bytes:
    """Read a whole file on a FUSE mount so the answer comes from the bricks, not from a cache.

    A plain read() of a file read before is served by the kernel's page cache (FUSE keeps it across
    opens), so with quorum lost it still said "ok" where the next uncached read gave ENOTCONN (issue 20).
    O_DIRECT bypasses the page cache and makes FUSE send every read to glusterfs, where io-cache and
    read-ahead leave O_DIRECT fds alone; quick-read does not (an O_DIRECT read of a small file 50 ms
    after quorum was lost said "ok" here), so the file must be too big for it (prepare_access_probe).
    O_DIRECT needs an aligned buffer, hence the mmap (page aligned). drop_caches would empty the page
    cache too, but it is machine-wide and leaves gluster's caches be.
    The read's error wins over close()'s: a close on an unreachable volume fails too (flush)."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECT)
    chunks = []
    try:
        with mmap.mmap(-1, DIRECT_IO_CHUNK) as buf:
            while n := os.readv(fd, [buf]):
                chunks.append(buf[:n])
    except BaseException:
        try:
            os.close(fd)
        except OSError:
            pass
        raise
    os.close(fd)
    return b"".join(chunks)
