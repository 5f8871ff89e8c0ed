"""Processes named by pid and start time: a pid taken over by a later process is not the same process."""
from __future__ import annotations

import dataclasses
import os
import signal
import subprocess
import sys

from harness.providers.host.proc import NodeProc, Proc, daemon_pid, procs
from harness.runner import run
from harness.waiting import wait_for

WRITES_ITS_PID_FILE = """
import os, sys, time
path = sys.argv[1].split("=", 1)[1]
with open(path + ".tmp", "w") as fh:
    fh.write(str(os.getpid()))
os.replace(path + ".tmp", path)
time.sleep(60)
"""


class ThisHost:
    """A node whose commands run here: its /proc is this host's, as a local node's is."""

    name = "here"

    def run(self, argv, *, timeout=60.0, input=None, check=True):
        return run(argv, timeout=timeout, input=input, check=check, where="this host")


def test_a_process_is_alive_until_it_is_killed_then_a_zombie_then_reaped():
    child = subprocess.Popen(["sleep", "60"])
    proc = Proc.of(child.pid)
    # Any live state: just after fork the child may still be loading `sleep` ("D", seen in a CI run).
    assert proc is not None and proc.alive() and proc.state() not in (None, "Z", "X")
    os.kill(child.pid, signal.SIGKILL)
    os.waitid(os.P_PID, child.pid, os.WEXITED | os.WNOWAIT)  # dead, not yet reaped
    assert proc.state() == "Z" and not proc.alive() and not proc.reaped()
    child.wait()
    assert proc.reaped() and Proc.of(child.pid) is None


def test_a_later_process_with_the_same_pid_is_another_process():
    me = Proc.of(os.getpid())
    assert me is not None and me.alive()
    # what the harness sees once its killed daemon's pid has gone to a new process
    predecessor = dataclasses.replace(me, started=me.started - 1)
    assert predecessor.reaped() and not predecessor.alive() and predecessor.state() is None
    assert predecessor != me


def test_pids_already_gone_are_left_out():
    child = subprocess.Popen(["true"])
    child.wait()
    assert procs([os.getpid(), child.pid]) == [Proc.of(os.getpid())]


def test_a_pid_file_names_its_daemon_only_while_that_daemon_runs(tmp_path):
    pid_file = tmp_path / "glusterd.pid"
    assert daemon_pid(pid_file) is None  # no file yet
    # like glusterd, the daemon writes its own pid file once it runs
    daemon = subprocess.Popen([sys.executable, "-c", WRITES_ITS_PID_FILE, f"--pid-file={pid_file}"])
    try:
        wait_for(pid_file.exists, timeout=30, what="the daemon to write its pid file")
        assert daemon_pid(pid_file) == daemon.pid
        assert daemon_pid(tmp_path / "other.pid") is None
    finally:
        daemon.kill()
        daemon.wait()
    assert daemon_pid(pid_file) is None  # the file outlived its daemon


def test_a_pid_file_whose_pid_another_process_took_names_nothing(tmp_path):
    pid_file = tmp_path / "glusterd.pid"
    pid_file.write_text(str(os.getpid()))  # alive, but not started with this pid file
    assert daemon_pid(pid_file) is None
    pid_file.write_text("garbage")
    assert daemon_pid(pid_file) is None


def test_a_node_process_read_through_the_node_goes_through_the_same_states():
    """NodeProc reads /proc/PID/stat with node.run (in a pod: the pod's pids); a zombie is neither
    alive nor reaped, which is what a brick killed under a PID 1 that never reaps stays."""
    node = ThisHost()
    child = subprocess.Popen(["sleep", "60"])
    proc = NodeProc.of(node, child.pid)
    assert proc is not None and proc.alive() and proc == NodeProc(node, child.pid, Proc.of(child.pid).started)
    os.kill(child.pid, signal.SIGKILL)
    os.waitid(os.P_PID, child.pid, os.WEXITED | os.WNOWAIT)
    assert proc.state() == "Z" and not proc.alive() and not proc.reaped()
    child.wait()
    assert proc.reaped() and NodeProc.of(node, child.pid) is None
