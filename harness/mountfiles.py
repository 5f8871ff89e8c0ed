"""File operations on a mount, run inside its client host: `mount.files.write("x", b"...")`.

Calls go to a client program left running in the client host (harness.clientops "serve", the
access probe's code), one JSON line per request, so the same code runs in a client network
namespace of the local provider and in a client pod of a Kubernetes one. A program per request cost
~0.1 s of CPU and as much wall time: history clients writing every 0.2 s on three workers took a
core of this machine's two, and on a busy machine a program's start-up read as a stalled write.
Errors come back as data and are raised here as OSError of the right class (so FileNotFoundError
for ENOENT) with the client and the path named in its filename; a call with no answer within its
timeout raises TimeoutError (ETIMEDOUT), its outcome unknown.
"""
from __future__ import annotations

import base64
import errno as errno_mod
import secrets
import json
import os
import threading
import time
import weakref
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Callable, Iterable, Mapping, Sequence

from . import clientops
from .clientops import PutError
from .errors import HarnessError, StreamEnded

if TYPE_CHECKING:
    from .control import Host, Stream

SCRIPT = Path(clientops.__file__).read_text()
OP_TIMEOUT_S = 20.0
START_MARGIN_S = 30.0  # python3 start-up in the client host, plus the exec round trip of a pod
MAX_REQUEST_BYTES = 64 << 10  # one request line; the access probe's goes as an argv entry
# A client program leaves after SERVE_IDLE_S without a request; one idle for REUSE_IDLE_S is closed
# here rather than reused, so a request never meets a program on its way out.
SERVE_IDLE_S = 120.0
REUSE_IDLE_S = 60.0

Execute = Callable[[dict, float], list[dict]]


def encode(calls: Sequence[dict], timeout: float, stop_on_error: bool = False) -> str:
    """The "files" request as the client program reads it; ValueError when it is too big for argv."""
    request = json.dumps({"op": "files", "calls": list(calls), "timeout": timeout, "stop_on_error": stop_on_error})
    if len(request) > MAX_REQUEST_BYTES:
        raise ValueError(f"a client file request of {len(request)} bytes is over {MAX_REQUEST_BYTES}: "
                         f"send fewer calls at a time, or repetitive data as fill")
    return request


def payload(data: bytes) -> dict:
    """A write's bytes in the request: "fill" when it is one byte repeated (any size fits), else base64."""
    if data and data == data[:1] * len(data):
        return {"fill": [data[0], len(data)]}
    return {"data": base64.b64encode(data).decode()}


def raise_for(outcome: dict, where: str, path: str) -> None:
    """OSError (its errno class) or TimeoutError for an outcome that is not ok; nothing if it is."""
    if outcome["ok"]:
        return
    name = f"{where}:{path}"
    if outcome["ok"] is None:
        raise TimeoutError(errno_mod.ETIMEDOUT, f"{outcome['error']} ({outcome['op']})", name)
    exc = OSError(outcome["errno"], outcome["error"] or errno_mod.errorcode.get(outcome["errno"] or 0, "?"), name)
    raise PutError(outcome["value"], exc) if outcome.get("value") else exc  # a put's failure names its stage


class ClientPrograms:
    """A host's idle client programs. A request takes one (or starts one) and gives it back once
    answered, so concurrent callers (a history client beside fio's file transfers) each have their
    own; a program that did not answer in time, or ended, is closed, never reused."""

    def __init__(self, host: "Host") -> None:
        self._host = weakref.ref(host)  # the registry below must not keep a torn-down cluster alive
        self._idle: list[tuple["Stream", float]] = []
        self._lock = threading.Lock()

    def take(self, host: "Host") -> "Stream":
        now = time.monotonic()
        with self._lock:
            while self._idle:
                stream, since = self._idle.pop()
                if now - since < REUSE_IDLE_S:
                    return stream
                stream.close()
        return host.open_stream(["python3", "-c", SCRIPT, json.dumps({"op": "serve", "idle_s": SERVE_IDLE_S})])

    def give_back(self, stream: "Stream") -> None:
        with self._lock:
            self._idle.append((stream, time.monotonic()))

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for stream, _ in idle:
            stream.close()


_programs: dict[int, ClientPrograms] = {}
_programs_lock = threading.Lock()


def programs_of(host: "Host") -> ClientPrograms:
    """The host's client programs; closed by release_programs, or when the host object goes."""
    with _programs_lock:
        programs = _programs.get(id(host))
        if programs is None or programs._host() is not host:
            programs = _programs[id(host)] = ClientPrograms(host)
            weakref.finalize(host, _forget, id(host), programs)
    return programs


def release_programs(hosts: Iterable["Host"]) -> None:
    """Close the hosts' client programs (a cluster going down): each leaves at the end of its input."""
    for host in hosts:
        with _programs_lock:
            programs = _programs.pop(id(host), None)
        if programs is not None:
            programs.close()


def _forget(key: int, programs: ClientPrograms) -> None:
    with _programs_lock:
        if _programs.get(key) is programs:
            del _programs[key]
    programs.close()


def remote(host: "Host") -> Execute:
    """Run a request in `host`'s client program."""
    def execute(request: dict, timeout: float) -> list[dict]:
        calls = request["calls"]
        text = encode(calls, timeout, request.get("stop_on_error", False))
        programs = programs_of(host)
        stream = programs.take(host)
        wait_s = len(calls) * timeout + START_MARGIN_S
        try:
            stream.send(text)
            line = stream.receive(wait_s)
        except StreamEnded as exc:
            stream.close()
            raise HarnessError(f"client {host.name} gave no file-op answer: {exc}") from None
        if line is None:
            stream.close()
            raise HarnessError(f"client {host.name} gave no file-op answer within {wait_s:g} s")
        programs.give_back(stream)
        try:
            return json.loads(line)
        except ValueError:
            raise HarnessError(f"client {host.name} gave no file-op answer: {line[-300:]!r}") from None
    return execute


def in_process(request: dict, timeout: float) -> list[dict]:
    """The same operations in this process: for a directory of this host (tests, local workloads)."""
    return clientops.serve_files({**request, "timeout": timeout})


@dataclass(frozen=True)
class MountFiles:
    """Paths are relative to `root` (the mount point, as the client host sees it)."""

    root: PurePosixPath
    execute: Execute
    where: str  # "client NAME", named in every error
    timeout: float = OP_TIMEOUT_S

    @classmethod
    def of(cls, host: "Host", root: str | os.PathLike) -> "MountFiles":
        return cls(PurePosixPath(root), remote(host), f"client {host.name}")

    @classmethod
    def here(cls, root: str | os.PathLike) -> "MountFiles":
        return cls(PurePosixPath(root), in_process, "this host")

    def sub(self, rel: str) -> "MountFiles":
        """The same client, rooted at a directory under this root."""
        return MountFiles(self.root / rel, self.execute, self.where, self.timeout)

    def path(self, rel: str) -> str:
        return str(self.root / rel) if rel else str(self.root)

    def call(self, calls: Sequence[dict], stop_on_error: bool = False) -> list[dict]:
        """Raw outcomes ({op, ok, errno, error, value, seconds}) of calls with paths relative to root;
        never raises for an I/O error."""
        absolute = [{**c, "path": self.path(c["path"])} for c in calls]
        return self.execute({"calls": absolute, "stop_on_error": stop_on_error}, self.timeout)

    def _one(self, call: dict) -> object:
        outcome, = self.call([call])
        raise_for(outcome, self.where, self.path(call["path"]))
        return outcome["value"]

    def write(self, rel: str, data: bytes, *, fsync: bool = True, mtime: float | None = None) -> None:
        """Write the whole file (created or truncated); fsync so the bricks, not write-behind, answer;
        then set its mtime (and atime) if given."""
        self._one({"op": "write", "path": rel, "fsync": fsync, "mtime": mtime, **payload(data)})

    def write_many(self, files: Mapping[str, bytes], *, fsync: bool = True) -> tuple[int, dict | None]:
        """Write each file (name -> content) in turn in one exec, stopping at the first failure:
        (files written, the failed outcome or None)."""
        outcomes = self.call([{"op": "write", "path": n, "fsync": fsync, **payload(d)} for n, d in files.items()],
                             stop_on_error=True)
        written = sum(1 for o in outcomes if o["ok"])
        failed = next((o for o in outcomes if not o["ok"]), None)
        return written, failed

    def put(self, rel: str, data: bytes) -> None:
        """Atomic replace (clientops.put); a failure's OSError has `stage`: create, write or rename."""
        self._one({"op": "put", "path": rel, "tag": secrets.token_hex(4), **payload(data)})

    def read(self, rel: str, *, uncached: bool = True) -> bytes:
        """The file's content; uncached (O_DIRECT, clientops.read_uncached) unless told otherwise, so
        the bricks answer and not the client's page cache."""
        return base64.b64decode(str(self._one({"op": "read", "path": rel, "uncached": uncached})))

    def mkdir(self, rel: str, *, exist_ok: bool = True) -> None:
        self._one({"op": "mkdir", "path": rel, "exist_ok": exist_ok})

    def listdir(self, rel: str = "") -> list[str]:
        return list(self._one({"op": "listdir", "path": rel}))  # type: ignore[call-overload]

    def stat(self, rel: str) -> dict:
        """{size, mtime_ns, mode, is_dir}."""
        return dict(self._one({"op": "stat", "path": rel}))  # type: ignore[call-overload]

    def utime(self, rel: str, mtime: float) -> None:
        self._one({"op": "utime", "path": rel, "mtime": mtime})

    def unlink(self, rel: str) -> None:
        self._one({"op": "unlink", "path": rel})
