"""A process named by pid and start time, so that a wait on it never waits on a stranger.

pid_max is 32768 on these machines and a qualification run starts ~80 processes a second, so the
pid of a killed gluster daemon names another process within minutes: a node-crash revert once
waited 30 s for "killed processes reaped" on a pid a new process already had.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from ...control import Host

STARTTIME = 19  # /proc/PID/stat field 22, counted from field 3 (the state)


def _fields(stat: str) -> list[str] | None:
    """A /proc/PID/stat line from field 3 (after the command name, which may hold spaces)."""
    try:
        return stat.rsplit(")", 1)[1].split()
    except IndexError:
        return None


def _stat_fields(pid: int) -> list[str] | None:
    """/proc/PID/stat of this host from field 3, or None once gone."""
    try:
        return _fields(Path(f"/proc/{pid}/stat").read_text())
    except OSError:
        return None


def process_start_time(pid: int) -> int | None:
    """When the process that has `pid` now started (clock ticks after boot), or None if there is none."""
    fields = _stat_fields(pid)
    return int(fields[STARTTIME]) if fields else None


def process_state(pid: int) -> str | None:
    """The state letter of whatever process has `pid` now, or None if there is none."""
    fields = _stat_fields(pid)
    return fields[0] if fields else None


@dataclass(frozen=True)
class Proc:
    pid: int
    started: int  # clock ticks after boot

    @classmethod
    def of(cls, pid: int) -> "Proc | None":
        """The process that has `pid` now, or None if there is none."""
        started = process_start_time(pid)
        return cls(pid, started) if started is not None else None

    def state(self) -> str | None:
        """Its state letter (R, S, D, T, Z, ...) while it exists, a zombie included; None once it is
        reaped, even if its pid belongs to another process by now."""
        fields = _stat_fields(self.pid)
        return fields[0] if fields and int(fields[STARTTIME]) == self.started else None

    def alive(self) -> bool:
        return self.state() not in (None, "Z")

    def reaped(self) -> bool:
        return self.state() is None


@dataclass(frozen=True)
class NodeProc:
    """A process as its node sees it: /proc read through node.run, so in a gluster pod the pid is the
    pod's, as `volume status` reports it. Same identity rule as Proc (pid and start time)."""

    node: Host
    pid: int
    started: int

    @staticmethod
    def _read(node: Host, pid: int) -> list[str] | None:
        result = node.run(["cat", f"/proc/{pid}/stat"], timeout=15, check=False)
        return _fields(result.stdout) if result.ok else None

    @classmethod
    def of(cls, node: Host, pid: int) -> "NodeProc | None":
        """The process of the node that has `pid` now, or None if there is none."""
        fields = cls._read(node, pid)
        return cls(node, pid, int(fields[STARTTIME])) if fields else None

    def state(self) -> str | None:
        """Its state letter while it exists (a zombie included); None once it is reaped."""
        fields = self._read(self.node, self.pid)
        return fields[0] if fields and int(fields[STARTTIME]) == self.started else None

    def alive(self) -> bool:
        return self.state() not in (None, "Z")

    def reaped(self) -> bool:
        return self.state() is None


def procs(pids: Iterable[int]) -> list[Proc]:
    """The processes that have these pids now (pids already gone are left out)."""
    return [p for p in map(Proc.of, pids) if p is not None]


def daemon_pid(pid_file: Path) -> int | None:
    """The pid in a daemon's pid file while that daemon runs: a live process started with
    `--pid-file=<pid_file>`. The file outlives a killed daemon, and its pid soon names another
    process (a glusterd the harness took for running so was never restarted)."""
    try:
        pid = int(pid_file.read_text().strip())
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")  # empty for a zombie
    except (OSError, ValueError):
        return None
    return pid if f"--pid-file={pid_file}".encode() in argv else None
