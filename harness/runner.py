"""The one place that starts processes: argument lists, never a shell, always a timeout."""
from __future__ import annotations

import contextlib
import os
import select
import shlex
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from .errors import CommandError, HarnessError, StreamEnded

TAIL_CHARS = 2000


@dataclass(frozen=True)
class CommandResult:
    argv: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str
    duration_s: float

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    def display(self) -> str:
        return shlex.join(self.argv)

    @staticmethod
    def tail(text: str) -> str:
        text = text.strip()
        return text if len(text) <= TAIL_CHARS else "..." + text[-TAIL_CHARS:]


def run(
    argv: Sequence[str],
    *,
    timeout: float,
    input: str | None = None,
    check: bool = True,
    where: str = "",
    log_to: Path | None = None,
) -> CommandResult:
    """Run argv and return its result; raise CommandError if check and it failed.

    A timeout becomes a CommandError with exit code -9 so callers see one failure type.
    With `log_to`, output goes to that file instead of pipes: needed for commands that leave a
    detached child behind, which would otherwise hold our pipes open until it exits.
    """
    argv = tuple(str(a) for a in argv)
    start = time.monotonic()
    try:
        if log_to is None:
            proc = subprocess.run(argv, input=input, capture_output=True, text=True, timeout=timeout,
                                  stdin=None if input is not None else subprocess.DEVNULL)
            stdout, stderr = proc.stdout, proc.stderr
        else:
            with open(log_to, "a") as log:
                proc = subprocess.run(argv, input=input, stdout=log, stderr=log, text=True, timeout=timeout,
                                      stdin=None if input is not None else subprocess.DEVNULL)
            stdout, stderr = "", log_to.read_text()[-TAIL_CHARS:]
        result = CommandResult(argv, proc.returncode, stdout, stderr, time.monotonic() - start)
    except subprocess.TimeoutExpired as exc:
        result = CommandResult(
            argv,
            -9,
            _text(exc.stdout),
            _text(exc.stderr) + f"\n(timed out after {timeout} s)",
            time.monotonic() - start,
        )
    except FileNotFoundError as exc:
        raise HarnessError(f"cannot run {argv[0]!r}: {exc.strerror}; is it installed? (make setup installs it)") from exc
    if check and not result.ok:
        raise CommandError(result, where)
    return result


def _text(data: bytes | str | None) -> str:
    if data is None:
        return ""
    return data.decode(errors="replace") if isinstance(data, bytes) else data


class ProcessStream:
    """A program of this machine kept running, spoken to in lines (harness.control.Stream)."""

    def __init__(self, argv: Sequence[str], what: str, where: str) -> None:
        self.what, self.where = what, where
        self._stderr = tempfile.TemporaryFile()  # a pipe nobody drains could fill and stall the program
        try:
            self._proc = subprocess.Popen([str(a) for a in argv], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                          stderr=self._stderr)
        except FileNotFoundError as exc:
            self._stderr.close()
            raise HarnessError(f"cannot run {argv[0]!r}: {exc.strerror}; is it installed?") from exc
        assert self._proc.stdin is not None and self._proc.stdout is not None
        self._stdin, self._stdout = self._proc.stdin, self._proc.stdout
        self._pending = b""

    def send(self, line: str) -> None:
        try:
            self._stdin.write(line.encode() + b"\n")
            self._stdin.flush()
        except (BrokenPipeError, ValueError):  # ValueError: written after close
            raise self._ended() from None

    def receive(self, timeout: float) -> str | None:
        deadline = time.monotonic() + timeout
        while b"\n" not in self._pending:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not select.select([self._stdout], [], [], remaining)[0]:
                return None
            chunk = os.read(self._stdout.fileno(), 1 << 16)
            if not chunk:
                raise self._ended()
            self._pending += chunk
        line, self._pending = self._pending.split(b"\n", 1)
        return line.decode()

    def close(self) -> None:
        if self._proc.poll() is None:
            with contextlib.suppress(BrokenPipeError):
                self._stdin.close()  # the program's cue to leave
            try:
                self._proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        for pipe in (self._stdin, self._stdout, self._stderr):
            with contextlib.suppress(BrokenPipeError):
                pipe.close()

    def _ended(self) -> StreamEnded:
        with contextlib.suppress(subprocess.TimeoutExpired):
            self._proc.wait(timeout=5)  # its output ended: it is on its way out
        self._stderr.seek(0)
        err = _text(self._stderr.read()).strip()[-TAIL_CHARS:]
        return StreamEnded(f"{self.what} in {self.where} ended (exit {self._proc.poll()})" + (f": {err}" if err else ""))
