"""File operations on a FUSE mount, judged by whether the volume answers them.

Standard library only, so that the same code runs in this process and inside a client host (a
client network namespace or a client pod) as `python3 -c SCRIPT REQUEST`: the access probe sends
this whole file there, so the operations and their timeouts mean the same on every provider.
"""
from __future__ import annotations

import errno
import fcntl
import json
import mmap
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Callable

DIRECT_IO_CHUNK = 1 << 16  # a multiple of every page and block size O_DIRECT may require here
PROBE_FILE_BYTES = 1 << 20  # > quick-read's largest max-file-size, 1000 KB
EXISTING = "existing"
ALL_OPS = ("read", "write", "create", "mkdir", "flock", "link", "symlink", "setxattr")


def read_uncached(path: str | os.PathLike) -> bytes:
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


def prepare(probe: str) -> None:
    """The probe directory and its existing file, made while the volume is healthy. The file is larger
    than quick-read can ever hold (its max-file-size is at most 1000 KB), so no read of it is answered
    from quick-read's copy of a small file's content, which O_DIRECT does not bypass."""
    os.makedirs(probe, exist_ok=True)
    with open(os.path.join(probe, EXISTING), "wb") as fh:
        fh.write(b"harness probe data\n".ljust(PROBE_FILE_BYTES, b"."))


def operations(probe: str, tag: str) -> dict[str, Callable[[], object]]:
    """Each op once on the probe directory; `tag` makes the names it creates unique."""
    existing = os.path.join(probe, EXISTING)

    def write() -> None:
        with open(existing, "ab") as fh:
            fh.write(b"appended\n")
            fh.flush()
            os.fsync(fh.fileno())  # write-behind may ack the write; fsync waits for the bricks

    def create() -> None:
        with open(os.path.join(probe, f"new-{tag}"), "xb") as fh:
            fh.write(b"new\n")
            os.fsync(fh.fileno())

    def flock() -> None:
        with open(existing, "rb") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
            fcntl.flock(fh, fcntl.LOCK_UN)

    return {
        "prepare": lambda: prepare(probe),
        "read": lambda: read_uncached(existing),  # never from a cache: the op judges whether the volume answers
        "write": write,
        "create": create,
        "mkdir": lambda: os.mkdir(os.path.join(probe, f"dir-{tag}")),
        "flock": flock,
        "link": lambda: os.link(existing, os.path.join(probe, f"link-{tag}")),
        "symlink": lambda: os.symlink(EXISTING, os.path.join(probe, f"sym-{tag}")),
        "setxattr": lambda: os.setxattr(existing, "user.harness", tag.encode()),
    }


def attempt(probe: str, ops: list[str], tag: str, timeout: float) -> list[dict]:
    """Try each op once: {op, ok (None: no answer within timeout), errno, error, seconds}. An OSError
    is data; after a timeout nothing more is tried (the worker is stuck in the kernel, later ops would
    only queue behind it)."""
    actions = operations(probe, tag)
    outcomes = []
    # A hung mount blocks the calling thread until ping-timeout; a worker thread lets us give up.
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="access-probe")
    for op in ops:
        start = time.monotonic()
        future = pool.submit(actions[op])
        try:
            future.result(timeout=timeout)
            outcomes.append({"op": op, "ok": True, "errno": None, "error": None})
        except FutureTimeout:
            outcomes.append({"op": op, "ok": None, "errno": None, "error": f"no answer in {timeout} s"})
        except OSError as exc:
            outcomes.append({"op": op, "ok": False, "errno": exc.errno,
                             "error": exc.strerror or errno.errorcode.get(exc.errno or 0)})
        outcomes[-1]["seconds"] = time.monotonic() - start
        if outcomes[-1]["ok"] is None:
            break
    pool.shutdown(wait=False)
    return outcomes


def main(argv: list[str]) -> None:
    """argv[1]: JSON {probe, ops, tag, timeout}; prints the outcomes as one JSON list."""
    request = json.loads(argv[1])
    outcomes = attempt(request["probe"], request["ops"], request["tag"], request["timeout"])
    sys.stdout.write(json.dumps(outcomes) + "\n")
    sys.stdout.flush()
    # A worker stuck on a hung mount would keep a normal exit waiting; exiting the process ends it.
    os._exit(0)


if __name__ == "__main__":
    main(sys.argv)
