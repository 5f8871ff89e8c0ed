"""Threads that drive stores and record every operation: writers of fresh keys, readers of their
peers' keys, and the final read-back of every key."""
from __future__ import annotations

import itertools
import secrets
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

from ..errors import ConfigError

from .ops import FINAL_PROCESS, History, Op, OpType
from .stores import Outcome, Store


def new_value(process: str, n: int) -> str:
    """Unique across runs too, so leftovers of an earlier run can never pass for this run's writes."""
    return f"{process}-{n}-{secrets.token_hex(6)}"


def perform(history: History, process: str, f: str, key: str, action: Callable[[], str | None],
            value: str | None = None) -> Op:
    """Record invoke, run action, record ok / fail / info; any other exception becomes info."""
    inv = history.invoke(process, f, key, value)
    try:
        result = action()
    except Outcome as out:
        return history.complete(inv, OpType.FAIL if out.definite else OpType.INFO, error=out.error)
    except Exception as exc:  # unknown outcome, never a definite failure
        return history.complete(inv, OpType.INFO, error=f"{type(exc).__name__}: {exc}")
    return history.complete(inv, OpType.OK, value=result)


class HistoryClient(threading.Thread):
    """Alternates writing a fresh key of its own and polling the next key of a peer."""

    def __init__(self, process: str, store: Store, history: History, peers: Sequence[str],
                 stop: threading.Event, think_s: float = 0.0) -> None:
        super().__init__(name=f"history-{process}", daemon=True)
        self.process, self.store, self.history = process, store, history
        self.peers, self.stop, self.think_s = list(peers), stop, think_s
        self.cursor = {p: 0 for p in self.peers}

    def run(self) -> None:
        peer_cycle = itertools.cycle(self.peers) if self.peers else None
        for n in itertools.count():
            if self.stop.is_set():
                return
            key = key_name(self.process, n)
            value = new_value(self.process, n)
            perform(self.history, self.process, "write", key, lambda: (self.store.write(key, value), value)[1], value)
            if peer_cycle is not None:
                peer = next(peer_cycle)
                peer_key = key_name(peer, self.cursor[peer])
                op = perform(self.history, self.process, "read", peer_key, lambda: self.store.read(peer_key))
                if op.type is OpType.OK and op.value is not None:
                    self.cursor[peer] += 1
            if self.think_s:
                self.stop.wait(self.think_s)


def key_name(process: str, n: int) -> str:
    return f"{process}-{n:07d}"


@dataclass(frozen=True)
class HistoryRun:
    path: Path | None
    ops: list[Op]
    duration_s: float
    stuck_clients: list[str]

    @property
    def ops_per_s(self) -> float:
        done = sum(1 for op in self.ops if op.type is not OpType.INVOKE and op.process != FINAL_PROCESS)
        return done / self.duration_s if self.duration_s > 0 else 0.0


def run_clients(stores: dict[str, Store], duration_s: float, path: Path | None = None,
                final_store: Store | None = None, think_s: float = 0.0, join_timeout_s: float = 60.0,
                during: Callable[[], None] | None = None) -> HistoryRun:
    """Run one client per store concurrently for duration_s (or while `during()` runs), then read
    every written key back as process "final" through `final_store` (default: the first store).

    Clients stuck in an operation past join_timeout_s are left (daemon threads) and listed; their
    pending operations are recorded as info.
    """
    if not stores:
        raise ConfigError("history clients need at least one store")
    if duration_s < 0:
        raise ConfigError(f"history duration must be >= 0 s, got {duration_s}")
    if FINAL_PROCESS in stores:
        raise ConfigError(f"{FINAL_PROCESS!r} is reserved for the read-back pass; rename that client")
    history = History(path)
    stop = threading.Event()
    names = list(stores)
    clients = [HistoryClient(n, s, history, [p for p in names if p != n], stop, think_s) for n, s in stores.items()]
    started = time.monotonic()
    for c in clients:
        c.start()
    try:
        if during is not None:
            during()
        else:
            stop.wait(duration_s)
    finally:
        stop.set()
        elapsed = time.monotonic() - started
        deadline = time.monotonic() + join_timeout_s
        for c in clients:
            c.join(max(0.0, deadline - time.monotonic()))
    stuck = [c.process for c in clients if c.is_alive()]
    read_back(history, final_store or next(iter(stores.values())))
    history.close()
    return HistoryRun(path, history.ops, elapsed, stuck)


def read_back(history: History, store: Store) -> None:
    """The final pass: read every key any client tried to write, as process "final"."""
    written = sorted({op.key for op in history.ops if op.f == "write" and op.type is OpType.INVOKE})
    for key in written:
        perform(history, FINAL_PROCESS, "read", key, lambda key=key: store.read(key))
