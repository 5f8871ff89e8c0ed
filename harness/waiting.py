"""Waiting for a state, with progress instead of silence."""
from __future__ import annotations

import logging
import time
from typing import Callable, TypeVar

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
) -> T:
    """Call probe until it returns something truthy and return that.

    Raises WaitTimeout naming `what` and, when given, the last observed state from `describe`.
    Logs progress (elapsed, what is awaited) every few seconds of a long wait.
    """
    start = time.monotonic()
    next_progress = start + PROGRESS_EVERY_S
    while True:
        value = probe()
        if value:
            return value
        now = time.monotonic()
        if now - start >= timeout:
            observed = f"; last observed: {describe()}" if describe else ""
            raise WaitTimeout(f"timed out after {timeout:.1f} s waiting for {what}{observed}")
        if now >= next_progress:
            state = f" ({describe()})" if describe else ""
            log.info("waiting %.0f s for %s%s", now - start, what, state)
            next_progress = now + PROGRESS_EVERY_S
        time.sleep(interval)
