"""Entering a client host's network namespace from one thread of the test process.

The test process lives in the host's network namespace, which has no route to the cluster's
198.18.x.y addresses (by design: no namespace routes out, and the host is not wired in). Linux
keeps the network namespace per thread, so a thread can `setns` into a client host's namespace,
open its sockets there, and switch back: the sockets stay in the namespace they were made in.
That lets boto3 and the history clients run in-process (no second interpreter per client) while
their traffic really crosses the cluster's bridge from a client host, as a pod's would.
"""
from __future__ import annotations

import ctypes
import os
import threading
from contextlib import contextmanager
from typing import Iterator

from ..cluster import ClientHost
from ..errors import ConfigError, HarnessError

CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(None, use_errno=True)
_local = threading.local()


def _setns(fd: int) -> None:
    if _libc.setns(fd, CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        raise HarnessError(f"setns into a network namespace failed: {os.strerror(err)} (needs root)")


@contextmanager
def entered(path: str) -> Iterator[None]:
    """Run the body with the current thread in the network namespace at `path`; always switch back.

    Re-entrant: nested use for the same path is a no-op, so wrapped calls can nest.
    """
    if getattr(_local, "path", None) == path:
        yield
        return
    try:
        target = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        raise HarnessError(f"network namespace {path} does not exist; is the cluster still up?") from None
    home = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
    previous = getattr(_local, "path", None)
    try:
        _setns(target)
        _local.path = path
        try:
            yield
        finally:
            _setns(home)
            _local.path = previous
    finally:
        os.close(target)
        os.close(home)


class InNamespace:
    """Wraps an object so every method call runs with the calling thread in a network namespace.

    Results are returned as they are: sockets opened during the call stay usable from anywhere,
    e.g. a streaming S3 body read after the call returns. Objects that make requests later by
    themselves (boto3 paginators, waiters) must be used inside `with entered(path):`.
    """

    def __init__(self, target: object, path: str) -> None:
        self._target = target
        self._path = path

    @property
    def wrapped(self) -> object:
        return self._target

    def __getattr__(self, name: str) -> object:
        attr = getattr(self._target, name)
        if not callable(attr):
            return attr
        path = self._path

        def call(*args: object, **kwargs: object) -> object:
            with entered(path):
                return attr(*args, **kwargs)

        call.__name__ = name
        return call


def check_reachable(host: ClientHost, address: str, port: int, what: str, timeout: float = 2.0) -> None:
    """ConfigError naming `what` unless a TCP connection from `host` to address:port succeeds. Run
    inside the host (bash's /dev/tcp), so it tells the same in a network namespace and in a pod."""
    result = host.run(["timeout", f"{timeout:g}", "bash", "-c", 'exec 3<>"/dev/tcp/$0/$1"', address, str(port)],
                      timeout=timeout + 15, check=False)
    if not result.ok:
        why = result.stderr.strip().splitlines()[-1] if result.stderr.strip() else f"no connection in {timeout:g} s"
        raise ConfigError(f"{what} at {address}:{port} is unreachable from {host.name}: {why}; "
                          f"check the address and that the service is running")
