"""File operations on a FUSE mount, run inside the mount's client host.

Standard library only, so that the same code runs in this process and inside a client host (a
client network namespace or a client pod) as `python3 -c SCRIPT REQUEST`: the access probe, the
file API of a mount (harness.mountfiles) and the latency probe send this whole file there, so the
operations and their timeouts mean the same on every provider. REQUEST's "op" picks the program:
"probe" (the default: the access probe), "files" (a list of calls), "latency" (a write loop that
logs one JSON line per write until SIGTERM), "stop" (end such a loop, killing it if it hangs) and
"serve" (answer "probe", "files" and "stop" requests, one JSON line each way on stdin and stdout,
until stdin ends or stays quiet for "idle_s").
"""
from __future__ import annotations

import base64
import errno
import fcntl
import hashlib
import json
import mmap
import os
import select
import signal
import sys
import threading
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
    outcomes = timed([(op, actions[op]) for op in ops], timeout)
    for outcome in outcomes:
        outcome["value"] = None  # what an op gave (read's bytes) is not the probe's answer, nor JSON
    return outcomes


def timed(actions: list[tuple[str, Callable[[], object]]], timeout: float, stop_on_error: bool = False) -> list[dict]:
    """Run each action in turn: {op, ok, errno, error, value, seconds}; see attempt. With stop_on_error,
    nothing more is tried after a failure either."""
    outcomes = []
    # A hung mount blocks the calling thread until ping-timeout; a worker thread lets us give up.
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="client-op")
    for op, action in actions:
        start = time.monotonic()
        future = pool.submit(action)
        try:
            value = future.result(timeout=timeout)
            outcomes.append({"op": op, "ok": True, "errno": None, "error": None, "value": value})
        except FutureTimeout:
            outcomes.append({"op": op, "ok": None, "errno": None, "error": f"no answer in {timeout} s", "value": None})
        except OSError as exc:
            outcomes.append({"op": op, "ok": False, "errno": exc.errno, "value": exc.stage if isinstance(exc, PutError) else None,
                             "error": exc.strerror or errno.errorcode.get(exc.errno or 0)})
        outcomes[-1]["seconds"] = time.monotonic() - start
        if outcomes[-1]["ok"] is None or (stop_on_error and not outcomes[-1]["ok"]):
            break
    pool.shutdown(wait=False)
    return outcomes


def _payload(call: dict) -> bytes:
    """A call's bytes: base64 "data", or "fill" [byte, size] (big repetitive files fit no argv as data)."""
    if "fill" in call:
        byte, size = call["fill"]
        return bytes([byte]) * size
    return base64.b64decode(call.get("data", ""))


def write_file(path: str, data: bytes, fsync: bool = True, mtime: float | None = None) -> int:
    with open(path, "wb") as fh:
        fh.write(data)
        fh.flush()
        if fsync:
            os.fsync(fh.fileno())  # write-behind may ack the write; fsync waits for the bricks
    if mtime is not None:
        os.utime(path, (mtime, mtime))
    return len(data)


class PutError(OSError):
    """A failed put, with how far it got (create, write or rename): before the rename the key was not
    touched; a failed rename may have happened."""

    def __init__(self, stage: str, cause: OSError) -> None:
        super().__init__(cause.errno, cause.strerror, cause.filename)
        self.stage = stage


def put(path: str, data: bytes, tag: str) -> None:
    """Atomic replace: a temporary file, fsync, rename onto path, so readers see the whole value or
    none. A failure is a PutError naming its stage."""
    tmp = os.path.join(os.path.dirname(path), f".{os.path.basename(path)}.{tag}.tmp")
    stage = "create"
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        stage = "write"
        try:
            os.write(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        stage = "rename"
        os.rename(tmp, path)
    except OSError as exc:
        raise PutError(stage, exc) from exc


def read_cached(path: str) -> bytes:
    with open(path, "rb") as fh:
        return fh.read()


def sha256_file(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def stat_file(path: str) -> dict:
    st = os.stat(path)
    return {"size": st.st_size, "mtime_ns": st.st_mtime_ns, "mode": st.st_mode, "is_dir": os.path.isdir(path)}


def file_action(call: dict) -> Callable[[], object]:
    """One call of a "files" request as an action; its value must be JSON (bytes go as base64)."""
    op, path = call["op"], call["path"]
    actions: dict[str, Callable[[], object]] = {
        "write": lambda: write_file(path, _payload(call), call.get("fsync", True), call.get("mtime")),
        "put": lambda: put(path, _payload(call), call["tag"]),
        "read": lambda: base64.b64encode(read_uncached(path) if call.get("uncached", True) else read_cached(path)).decode(),
        "mkdir": lambda: os.makedirs(path, exist_ok=True) if call.get("exist_ok", True) else os.mkdir(path),
        "listdir": lambda: sorted(os.listdir(path)),
        "stat": lambda: stat_file(path),
        "sha256": lambda: sha256_file(path),
        "utime": lambda: os.utime(path, (call["mtime"], call["mtime"])),
        "unlink": lambda: os.unlink(path),
    }
    if op not in actions:
        raise ValueError(f"unknown file op {op!r}; known: {', '.join(actions)}")
    return actions[op]


def serve_files(request: dict) -> list[dict]:
    actions = [(c["op"], file_action(c)) for c in request["calls"]]
    return timed(actions, request["timeout"], request.get("stop_on_error", False))


def overwrite(path: str, block: bytes) -> None:
    """The probe's timed op: overwrite the start of the file (no truncate: one op less) and fsync."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o644)
    try:
        os.write(fd, block)
        os.fsync(fd)  # write-behind may ack the write; fsync waits for the bricks: no cache answers it
    finally:
        os.close(fd)


def latency_loop(request: dict, out=sys.stdout) -> None:
    """Write `block` bytes + fsync to one of 16 files every `interval` s until SIGTERM, logging a start
    line {"n", "t"} before each write and an end line {"n", "t", "ms", "ok", "error"} after it, so the
    harness can tell a write in flight (a stall) from no write. Nothing on an unmounted root is
    touched: each write then fails "not a mount point" (the probe records failures, never silence)."""
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())

    def emit(record: dict) -> None:
        out.write(json.dumps(record) + "\n")
        out.flush()

    emit({"pid": os.getpid()})
    mounted = is_mount_point(request["root"])
    directory, block = request["dir"], b"\0" * request.get("block", 4096)
    if mounted:
        try:
            os.makedirs(directory, exist_ok=True)
        except OSError:
            pass  # each write then fails and says why
    n = 0
    while not stopping.is_set():
        t, start = time.time(), time.monotonic()
        emit({"n": n, "t": t})
        error = None
        try:
            if not mounted:
                raise OSError(errno.ENOTCONN, f"{request['root']} is not a mount point")
            overwrite(os.path.join(directory, f"p{n % 16}"), block)
        except OSError as exc:
            error = exc.strerror or errno.errorcode.get(exc.errno or 0, str(exc.errno))
        emit({"n": n, "t": t, "ms": (time.monotonic() - start) * 1000.0, "ok": error is None, "error": error})
        n += 1
        stopping.wait(request["interval"])


def is_mount_point(path: str) -> bool:
    """Listed in this host's mount table (os.path.ismount misses a bind mount within one filesystem)."""
    target = os.path.abspath(path)
    with open("/proc/self/mounts") as fh:
        return any(line.split()[1] == target for line in fh)


def _state(pid: int) -> str | None:
    """The process's state letter (Z: a zombie, done), None once it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return None


def stop_loop(request: dict) -> dict:
    """SIGTERM the loop (it ends after the write in flight), SIGKILL it if it has not ended within
    `grace` s (a write hung on the mount; a fatal signal ends even a FUSE wait). Only a latency loop of
    this program is signalled, never a process that reused its pid."""
    pid = request["pid"]
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            if json.loads(fh.read().rstrip(b"\0").rsplit(b"\0", 1)[-1]).get("op") != "latency":
                return {"stopped": "gone"}
    except (OSError, ValueError, AttributeError):
        return {"stopped": "gone"}
    for sig, wait_s in ((signal.SIGTERM, request["grace"]), (signal.SIGKILL, 10.0)):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            return {"stopped": "gone"}
        deadline = time.monotonic() + wait_s
        while _state(pid) not in (None, "Z") and time.monotonic() < deadline:
            time.sleep(0.02)
        if _state(pid) in (None, "Z"):
            return {"stopped": "term" if sig == signal.SIGTERM else "kill"}
    return {"stopped": "still running"}


def answer(request: dict) -> object:
    """The answer to one "probe", "files" or "stop" request."""
    op = request.get("op", "probe")
    if op == "stop":
        return stop_loop(request)
    if op == "files":
        return serve_files(request)
    return attempt(request["probe"], request["ops"], request["tag"], request["timeout"])


def serve(idle_s: float) -> None:
    """Answer requests read a line at a time from stdin until it ends or stays quiet for idle_s: one
    program serves a client's many file operations, where a program each cost ~0.1 s of CPU.
    Only a whole line is ever acted on, so a request sent as the program leaves is never half done."""
    pending = b""
    while True:
        while b"\n" not in pending:
            if not select.select([0], [], [], idle_s)[0]:
                return
            chunk = os.read(0, 1 << 16)
            if not chunk:
                return
            pending += chunk
        line, pending = pending.split(b"\n", 1)
        sys.stdout.write(json.dumps(answer(json.loads(line))) + "\n")
        sys.stdout.flush()


def main(argv: list[str]) -> None:
    """argv[1]: a JSON request (see the module's doc); prints the answer as one JSON value."""
    request = json.loads(argv[1])
    op = request.get("op", "probe")
    if op == "latency":
        latency_loop(request)
        return
    if op == "serve":
        serve(request["idle_s"])
    else:
        sys.stdout.write(json.dumps(answer(request)) + "\n")
        sys.stdout.flush()
    # A worker stuck on a hung mount would keep a normal exit waiting; exiting the process ends it.
    os._exit(0)


if __name__ == "__main__":
    main(sys.argv)
