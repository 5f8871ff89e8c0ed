"""A run that dies (SIGKILL) or is interrupted (Ctrl-C) leaves nothing the next run does not remove."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

from harness.providers.host import registry
from harness.providers.host.proc import Proc
from harness.providers.local import LocalProvider
from harness.providers.host.teardown import leftovers
from ..conftest import REPO, default_sigint, harness_command

BRING_UP_AND_HANG = textwrap.dedent("""
    import json, sys, time
    from harness.providers.host.proc import procs
    from harness.providers.local import LocalProvider
    from harness.volume import VolumeSpec, VolumeType, create_volume
    cluster = LocalProvider(nodes=2, zones=2, clients=1).up()
    mount = cluster.mount(create_volume(cluster, VolumeSpec(VolumeType.REPLICA2)))
    pids = [p for n in cluster.nodes for p in n.pids()] + [n.holder_pid for n in cluster.nodes] + [mount.pid]
    processes = [[p.pid, p.started] for p in procs(pids)]
    print(json.dumps({"run_id": cluster.run_id, "root": str(cluster.root), "processes": processes}), flush=True)
    time.sleep(3600)
""")


def start_doomed_run() -> tuple[subprocess.Popen, dict]:
    proc = subprocess.Popen([sys.executable, "-c", BRING_UP_AND_HANG], stdout=subprocess.PIPE, text=True, cwd=REPO)
    line = proc.stdout.readline()
    assert line, f"the doomed run did not start (exit {proc.wait()})"
    return proc, json.loads(line)


def kill_run(proc: subprocess.Popen, state: dict) -> None:
    proc.kill()
    proc.wait()
    assert leftovers(state["run_id"], Path(state["root"])), "a SIGKILLed run should leave its cluster behind"


def assert_gone(state: dict) -> None:
    assert leftovers(state["run_id"], Path(state["root"])) == []
    assert [p for p in (Proc(*p) for p in state["processes"]) if p.alive()] == []
    index = registry.index_of_namespace(state["run_id"] + "-")
    entry = registry.load(index)
    assert entry is None or entry.owner_pid != state.get("owner"), "stale registry entry kept"


def test_next_run_removes_a_sigkilled_runs_leftovers():
    proc, state = start_doomed_run()
    state["owner"] = proc.pid
    kill_run(proc, state)
    cluster = LocalProvider(nodes=1, zones=1, clients=0).up()
    cluster.down()
    assert_gone(state)


def test_cleanup_command_removes_a_sigkilled_runs_leftovers():
    proc, state = start_doomed_run()
    state["owner"] = proc.pid
    kill_run(proc, state)
    result = subprocess.run(harness_command("cleanup"), capture_output=True, text=True, cwd=REPO, timeout=120)
    assert result.returncode == 0, result.stderr
    assert state["run_id"] in result.stdout
    assert_gone(state)


INTERRUPTED_TEST = textwrap.dedent("""
    import json, os, time
    from harness.providers.host.proc import procs
    def test_hangs(gluster_cluster, volume_factory, mount_factory):
        mount = mount_factory(volume_factory("replica2"))
        pids = [p for n in gluster_cluster.nodes for p in n.pids()] + [mount.pid]
        processes = [[p.pid, p.started] for p in procs(pids)]
        print(json.dumps({"run_id": gluster_cluster.run_id, "root": str(gluster_cluster.root),
                          "processes": processes}))
        os.write(int(os.environ["READY_FD"]), b"ready")
        time.sleep(3600)
""")


def test_ctrl_c_during_a_test_tears_the_cluster_down(tmp_path):
    (tmp_path / "test_interrupted.py").write_text(INTERRUPTED_TEST)
    read_fd, write_fd = os.pipe()
    env = {**os.environ, "READY_FD": str(write_fd), "GLUSTER_NODES": "2", "GLUSTER_ZONES": "2",
           "GLUSTER_CLIENTS": "1", "GLUSTER_REPORT_DIR": str(tmp_path / "reports")}
    proc = subprocess.Popen([sys.executable, "-m", "pytest", "-s", "-q", "-p", "no:cacheprovider", str(tmp_path)],
                            stdout=subprocess.PIPE, text=True, cwd=tmp_path, env=env, pass_fds=(write_fd,),
                            preexec_fn=default_sigint)
    os.close(write_fd)
    try:
        assert os.read(read_fd, 5) == b"ready", "the test never reached its hang"
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    state = json.loads(next(line for line in out.splitlines() if line.startswith("{")))
    assert "KeyboardInterrupt" in out
    assert_gone(state)
