"""A failing test's gluster logs, kept in its run folder (`failed/<test>/<node>/<log>`).

The cluster, and with it every log, is gone at teardown; a failure seen once in a long
qualification run must leave its evidence behind, with or without allure. Each log keeps its end
(allure.LOG_TAIL_BYTES), which is what explains a failure.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Iterable

from .allure import Attachment

UNSAFE = re.compile(r"[^A-Za-z0-9_.=+-]+")


def folder_for(run_path: Path, nodeid: str) -> Path:
    """reports/<run>/failed/<test id with every path-unsafe run of characters as one '_'>."""
    return run_path / "failed" / UNSAFE.sub("_", nodeid).strip("_")


def keep(logs: Iterable[Attachment], folder: Path) -> None:
    """Write node_logs() attachments ("node1: glusterd.log", "node1: bricks/b0.log") under folder."""
    for log in logs:
        node, _, relative = log.name.partition(": ")
        target = folder / node / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(log.body if log.body is not None else Path(log.path).read_bytes())
