"""Waiting for a state, with progress instead of silence."""
from __future__ import annotations

import logging
import threading
import time
from contextlib import contextmanager
from typing import Callable, Iterator, TypeVar

from .errors import WaitTimeout

T = TypeVar("T")
log = logging.getLogger("harness.wait")

PROGRESS_EVERY_S = 5.0


def wait_for(
    probe: Callable[[], T | None],
    *,
    timeout: float,
    what: str,
    interval: float = 0.1,
    describe: Callable[[], str] | None = None,
    tolerate: type[BaseException] | tuple[type[BaseException], ...] = (),
) -> T:
    """Call probe until it returns something truthy and return that.

    A probe that raises one of `tolerate` means "not known yet" (a CLI asked while its daemon
    restarts): the wait goes on, and its messages name that error while the latest attempt failed.
    Raises WaitTimeout naming `what` and, when given, the last observed state from `describe`.
    Logs progress (elapsed, what is awaited) every few seconds of a long wait.
    """
    start = time.monotonic()
    next_progress = start + PROGRESS_EVERY_S
    last_error = ""

    def observed() -> str:
        parts = [describe()] if describe else []
        if last_error:
            parts.append(f"last attempt failed: {last_error}")
        return "; ".join(parts)

    while True:
        try:
            value = probe()
            last_error = ""
        except tolerate as exc:
            value, last_error = None, str(exc).splitlines()[0]
        if value:
            return value
        now = time.monotonic()
        if now - start >= timeout:
            state = observed()
            raise WaitTimeout(f"timed out after {timeout:.1f} s waiting for {what}" + (f"; last observed: {state}"
                                                                                       if state else ""))
        if now >= next_progress:
            state = observed()
            log.info("waiting %.0f s for %s%s", now - start, what, f" ({state})" if state else "")
            next_progress = now + PROGRESS_EVERY_S
        time.sleep(interval)


def read_until(read: Callable[[], T], done: Callable[[T], bool], *, timeout: float, what: str,
               interval: float = 0.5) -> T:
    """Call read (at least once) until done(value) holds or `timeout` seconds have passed, and
    return the last value read: for a state that may stay unknown, which the caller then reports
    as unknown with that value, not as a timeout."""
    last: list[T] = []

    def probe() -> bool:
        last[:] = [read()]
        return done(last[0])

    try:
        wait_for(probe, timeout=timeout, what=what, interval=interval)
    except WaitTimeout:
        pass
    return last[0]


@contextmanager
def progress(what: str, *, expected_s: float | None = None, describe: Callable[[], str] | None = None,
             every: float = PROGRESS_EVERY_S) -> Iterator[None]:
    """Log "<what>: N s elapsed" (with the expected length and `describe()`'s state) every few
    seconds while the body runs: for phases that block in one call, such as a fio or locust run."""
    stop = threading.Event()
    start = time.monotonic()

    def report() -> None:
        while not stop.wait(every):
            try:
                state = f" ({describe()})" if describe else ""
            except Exception as exc:  # a progress line must never break the phase it reports on
                state = f" (state unknown: {exc})"
            of = f" of ~{expected_s:.0f} s" if expected_s else ""
            log.info("%s: %.0f s elapsed%s%s", what, time.monotonic() - start, of, state)

    thread = threading.Thread(target=report, name=f"progress: {what}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()
