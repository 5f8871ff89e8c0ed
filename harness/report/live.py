"""Progress lines in the terminal while pytest captures output.

Long phases (waiting for heal, a fio or locust run, a fault taking hold) log INFO lines on the
"harness" logger (harness.waiting logs every few seconds). pytest captures output per test, so
without this they would stay invisible until a failure. The handler writes each line to a copy of
the terminal's file descriptor taken before capturing starts, so it needs no capture toggling and
works from any thread.
"""
from __future__ import annotations

import logging
import os
import threading
import time

PREFIX = "[harness]"


class LiveHandler(logging.Handler):
    """Writes "[harness] HH:MM:SS message" lines straight to a duplicated terminal descriptor."""

    def __init__(self, fd: int, level: int = logging.INFO) -> None:
        super().__init__(level)
        self.fd = os.dup(fd)
        self._write_lock = threading.Lock()

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = f"\n{PREFIX} {time.strftime('%H:%M:%S', time.localtime(record.created))} {record.getMessage()}\n"
            with self._write_lock:
                os.write(self.fd, line.encode(errors="replace"))
        except Exception:  # never let a progress line break the test that logged it
            self.handleError(record)

    def close(self) -> None:
        try:
            os.close(self.fd)
        except OSError:
            pass
        super().close()


def install(fd: int, logger_name: str = "harness") -> LiveHandler:
    """Attach a live handler to the logger; remove it with `uninstall`."""
    handler = LiveHandler(fd)
    logging.getLogger(logger_name).addHandler(handler)
    return handler


def uninstall(handler: LiveHandler, logger_name: str = "harness") -> None:
    logging.getLogger(logger_name).removeHandler(handler)
    handler.close()
