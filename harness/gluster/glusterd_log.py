"""A node's glusterd log (glusterd.log): what the glusterd last started logged, the version it ran,
and why a start failed, in its own words.

glusterd logs one "Started running ... {version=V}" line at each start; a start that fails (a
stored cluster.op-version above what the version supports: "wrong op-version (110000) retrieved",
"Failed to restore op_version") logs its errors (level E) and ends with cleanup_and_exit's
"shutting down" line, then the process is gone.
"""
from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..cluster import Node

GLUSTERD_LOG = "/var/log/glusterfs/glusterd.log"  # inside a node
STARTED = "Started running"
SHUTTING_DOWN = "shutting down"  # cleanup_and_exit, the last line of every glusterd exit
ERROR_LEVEL = re.compile(r"^\[[^]]+\] [EC] ")  # "[2026-12-06 14:08:46.555689 +0000] E [MSGID: ..."
ERRORS_QUOTED = 6


def log_lines(node: "Node", pattern: str, path: str = GLUSTERD_LOG) -> list[str]:
    """Lines of a node's glusterd log containing `pattern` (fixed string)."""
    result = node.run(["grep", "-F", "--", pattern, path], timeout=30, check=False)
    return [line for line in result.stdout.splitlines() if line.strip()]


def running_version(node: "Node", path: str = GLUSTERD_LOG) -> str | None:
    """The version the node's glusterd last logged at start ("Started running ... {version=11.1}")."""
    lines = log_lines(node, STARTED, path)
    found = re.findall(r"\{version=([^}]+)\}", lines[-1]) if lines else []
    return found[0] if found else None


def last_start(text: str) -> list[str]:
    """The lines of the last glusterd start in a log text (none when it holds no start line)."""
    lines = text.splitlines()
    starts = [i for i, line in enumerate(lines) if STARTED in line]
    return lines[starts[-1]:] if starts else []


def start_ended(text: str) -> bool:
    """Whether the glusterd of the last start in `text` has exited (logged "shutting down")."""
    return any(SHUTTING_DOWN in line for line in last_start(text))


def start_errors(text: str, limit: int = ERRORS_QUOTED) -> list[str]:
    """The last `limit` error lines (E or C) of the last start: why it failed, in glusterd's words."""
    return [line.strip() for line in last_start(text) if ERROR_LEVEL.match(line)][-limit:]
