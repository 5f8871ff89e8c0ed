"""Operation records: each operation a client performs, invoked and then completed ok, fail or info,
kept in order and written as JSON lines so a verdict can be recomputed offline."""
from __future__ import annotations

import json
import threading
import time
from dataclasses import asdict, dataclass
from enum import Enum
from pathlib import Path

from ..errors import ConfigError


FINAL_PROCESS = "final"
DEFAULT_STALL_S = 1.0


class OpType(str, Enum):
    INVOKE = "invoke"
    OK = "ok"
    FAIL = "fail"
    INFO = "info"


@dataclass(frozen=True)
class Op:
    index: int
    process: str
    type: OpType
    f: str  # "write" | "read"
    key: str
    value: str | None
    time: float  # Unix time, seconds
    error: str | None = None

    def to_json(self) -> str:
        data = asdict(self)
        data["type"] = self.type.value
        return json.dumps(data, sort_keys=True)

    @classmethod
    def from_json(cls, line: str) -> "Op":
        data = json.loads(line)
        data["type"] = OpType(data["type"])
        return cls(**data)


class History:
    """Thread-safe recorder; with `path`, each op is appended to that JSON-lines file at once."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._ops: list[Op] = []
        self._pending: dict[int, Op] = {}
        self._fh = open(path, "a") if path else None
        self._closed = False

    def _add(self, process: str, type_: OpType, f: str, key: str, value: str | None, error: str | None) -> Op:
        with self._lock:
            op = Op(len(self._ops), process, type_, f, key, value, time.time(), error)
            self._ops.append(op)
            if self._fh:
                self._fh.write(op.to_json() + "\n")
                self._fh.flush()
            return op

    def invoke(self, process: str, f: str, key: str, value: str | None = None) -> Op:
        op = self._add(process, OpType.INVOKE, f, key, value, None)
        with self._lock:
            self._pending[op.index] = op
        return op

    def complete(self, invoked: Op, type_: OpType, value: str | None = None, error: str | None = None) -> Op:
        """Record the outcome of `invoked`; a write's value is the invoked value whatever is passed."""
        with self._lock:
            if self._pending.pop(invoked.index, None) is None:
                if self._closed:  # a client that was stuck past close(): its op is already info
                    return invoked
                raise ConfigError(f"op {invoked.index} was already completed or never invoked")
        if invoked.f == "write":
            value = invoked.value
        return self._add(invoked.process, type_, invoked.f, invoked.key, value, error)

    @property
    def ops(self) -> list[Op]:
        with self._lock:
            return list(self._ops)

    def close(self) -> None:
        """Operations still pending (a client stuck in a hung mount) become info."""
        for op in list(self._pending.values()):
            self.complete(op, OpType.INFO, error="no completion before the history closed")
        with self._lock:
            self._closed = True
        if self._fh:
            self._fh.close()
            self._fh = None


def load_history(path: Path) -> list[Op]:
    with open(path) as fh:
        return [Op.from_json(line) for line in fh if line.strip()]
