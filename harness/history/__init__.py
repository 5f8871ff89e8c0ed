"""Operation histories (Jepsen style) and the checker the suites use for "no acknowledged write lost".

Every operation a client performs is recorded twice: `invoke` when it starts, then `ok` (it
happened), `fail` (it certainly did not happen, with errno or S3 error code) or `info` (outcome
unknown: a timeout, a lost connection, a server error after the request was sent). Histories are
JSON lines on disk, so a verdict can be recomputed offline with `check_history(load_history(p))`.

The model is write-once keys: each write stores a unique value under a fresh key; readers poll
other clients' keys; a final pass (process "final") reads every key back after the workload.
"""
from __future__ import annotations

from .checker import HistoryVerdict, Unavailability, check_history
from .clients import HistoryClient, HistoryRun, key_name, new_value, perform, read_back, run_clients
from .ops import DEFAULT_STALL_S, FINAL_PROCESS, History, Op, OpType, load_history
from .stores import FileStore, Outcome, S3Store, Store

__all__ = [
    "DEFAULT_STALL_S", "FINAL_PROCESS", "FileStore", "History", "HistoryClient", "HistoryRun", "HistoryVerdict", "Op",
    "OpType", "Outcome", "S3Store", "Store", "Unavailability", "check_history", "key_name", "load_history",
    "new_value", "perform", "read_back", "run_clients",
]
