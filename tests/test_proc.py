"""Processes named by pid and start time: a pid taken over by a later process is not the same process."""
from __future__ import annotations

import dataclasses
import os
import signal
import subprocess

from harness.proc import Proc, procs


def test_a_process_is_alive_until_it_is_killed_then_a_zombie_then_reaped():
    child = subprocess.Popen(["sleep", "60"])
    proc = Proc.of(child.pid)
    assert proc is not None and proc.alive() and proc.state() in ("R", "S")
    os.kill(child.pid, signal.SIGKILL)
    os.waitid(os.P_PID, child.pid, os.WEXITED | os.WNOWAIT)  # dead, not yet reaped
    assert proc.state() == "Z" and not proc.alive() and not proc.reaped()
    child.wait()
    assert proc.reaped() and Proc.of(child.pid) is None


def test_a_later_process_with_the_same_pid_is_another_process():
    me = Proc.of(os.getpid())
    assert me is not None and me.alive()
    # what the harness sees once its killed daemon's pid has gone to a new process
    predecessor = dataclasses.replace(me, started=str(int(me.started) - 1))
    assert predecessor.reaped() and not predecessor.alive() and predecessor.state() is None
    assert predecessor != me


def test_pids_already_gone_are_left_out():
    child = subprocess.Popen(["true"])
    child.wait()
    assert procs([os.getpid(), child.pid]) == [Proc.of(os.getpid())]
