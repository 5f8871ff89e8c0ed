"""A node's init: holds the node's namespaces, starts daemons on request, and reaps orphans.

Runs as the node's holder process (like a pod's pause container with tini). It is a child
subreaper, so gluster daemons started from it (glusterd, and the bricks and self-heal daemons
glusterd forks) are reaped at once when they die. Without that, a killed brick stays a zombie
until the machine's init gets to it, and glusterd refuses to restart a brick it still sees.

Usage (stdlib only; run inside the node's namespaces): nodeinit.py READY_FILE CONTROL_FIFO LOG
Each line written to CONTROL_FIFO is a JSON argv list to start detached.
"""
from __future__ import annotations

import ctypes
import json
import os
import select
import signal
import subprocess
import sys

PR_SET_CHILD_SUBREAPER = 36


def reap() -> None:
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def main(ready_file: str, fifo: str, log_path: str) -> None:
    if ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_CHILD_SUBREAPER) failed")
    # Python retries select() after a signal handler runs (PEP 475), so a handler alone would not
    # wake it: the wakeup fd turns each SIGCHLD into a readable byte, and a dead child is reaped at once.
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_r, False)
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    os.mkfifo(fifo)
    control = os.open(fifo, os.O_RDWR | os.O_NONBLOCK)  # O_RDWR: never sees EOF between writers
    log = open(log_path, "a")
    with open(ready_file + ".tmp", "w") as fh:
        fh.write(str(os.getpid()))
    os.replace(ready_file + ".tmp", ready_file)
    pending = b""
    while True:
        readable, _, _ = select.select([control, wake_r], [], [], 1.0)
        if wake_r in readable:
            os.read(wake_r, 4096)
        reap()
        if control not in readable:
            continue
        pending += os.read(control, 65536)
        *lines, pending = pending.split(b"\n")
        for line in lines:
            if line.strip():
                argv = json.loads(line)
                subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True)


if __name__ == "__main__":
    main(*sys.argv[1:4])
