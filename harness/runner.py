"""The one place that starts processes: argument lists, never a shell, always a timeout."""
from __future__ import annotations

import shlex
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from .errors import CommandError, HarnessError

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
