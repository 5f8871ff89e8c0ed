"""Faults revert however a test ends: exception in `with`, a failing test, Ctrl-C, a test that
left a fault injected; a SIGKILLed run's leftovers are removed by cleanup; the JSON functions."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap

import pytest

from harness.faults import IsolateNode, Latency, inject_fault, revert_fault
from harness.faults.probe import probe_connect
from harness.health import wait_volume_whole
from harness.providers.host.proc import procs
from harness.timeline import Phase, Timeline
from harness.waiting import wait_for

from ..conftest import REPO, default_sigint, harness_command
from ..faults_helpers import fault_rules, fault_state_files, no_fault_rules, process_states


def delayers(cluster) -> list[int]:
    found = []
    for node in cluster.nodes:
        for pid in node.pids():
            try:
                if b"delayer.py" in open(f"/proc/{pid}/cmdline", "rb").read():
                    found.append(pid)
            except OSError:
                pass
    return found


def test_exception_inside_with_reverts(gluster_cluster, volume_factory, timeline):
    fault = Latency(gluster_cluster, hosts=["node2"], delay_ms=5)
    with pytest.raises(RuntimeError, match="workload blew up"):
        with fault:
            assert delayers(gluster_cluster)
            raise RuntimeError("workload blew up")
    assert no_fault_rules(gluster_cluster) and delayers(gluster_cluster) == []
    assert [e.phase for e in timeline.for_fault(fault.fault_id)][-1] == Phase.REVERTED
    fault.revert()  # idempotent
    assert not fault.active and fault_state_files(gluster_cluster) == []


def test_json_inject_and_revert_from_another_process(gluster_cluster, volume_factory):
    description = inject_fault(gluster_cluster, {"kind": "isolate-node", "node": "node3"})
    json.dumps(description)  # JSON-friendly, for chaostoolkit
    assert description["effect"]["probes_blocked"]
    assert probe_connect(gluster_cluster.node("node1"), gluster_cluster.node("node3").address).blocked
    # chaostoolkit may roll back from a fresh process: rebuild from the description and revert.
    script = textwrap.dedent(f"""
        import json, sys
        from harness.providers.host import registry
        from harness.providers.local import LocalCluster
        from harness.faults import revert_fault
        cluster = LocalCluster.attach(registry.load({gluster_cluster.entry.index}))
        print(json.dumps(revert_fault(cluster, json.loads(sys.stdin.read()))))
    """)
    out = subprocess.run([sys.executable, "-c", script], input=json.dumps(description), capture_output=True,
                         text=True, timeout=120, cwd=REPO)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout.splitlines()[-1])["fault_id"] == description["fault_id"]
    assert no_fault_rules(gluster_cluster)
    assert not probe_connect(gluster_cluster.node("node1"), gluster_cluster.node("node3").address).blocked
    # The object this process still holds is reverted idempotently through the same function.
    revert_fault(gluster_cluster, description)
    assert fault_state_files(gluster_cluster) == []


INNER_TESTS = """
    import os, time
    from pathlib import Path
    from harness.faults import IsolateNode, NodeHang

    def test_fails_inside_with(gluster_cluster):
        with IsolateNode(gluster_cluster, node="node2"):
            assert False, "the scenario failed"

    def test_dies_with_fault_injected(gluster_cluster):
        NodeHang(gluster_cluster, "node3").inject()
        raise RuntimeError("the test died with its fault injected")

    def test_interrupted(gluster_cluster):
        with IsolateNode(gluster_cluster, node="node1"):
            Path(os.environ["MARKER"]).write_text("injected")
            time.sleep(120)
"""


def test_failing_errored_and_interrupted_tests_still_revert(pytester, monkeypatch):
    monkeypatch.setenv("GLUSTER_REPORT_DIR", str(pytester.path / "reports"))
    monkeypatch.delenv("PYTEST_XDIST_WORKER", raising=False)  # the inner run is no worker: one timeline.jsonl
    marker = pytester.path / "injected"
    monkeypatch.setenv("MARKER", str(marker))
    pytester.makepyfile(test_inner=textwrap.dedent(INNER_TESTS))
    proc = subprocess.Popen([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "test_inner.py"],
                            cwd=pytester.path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            preexec_fn=default_sigint)
    try:
        wait_for(marker.exists, timeout=180, what="the inner test to inject its fault")
        proc.send_signal(signal.SIGINT)  # Ctrl-C
        out, _ = proc.communicate(timeout=180)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert "1 failed" in out or "failed" in out, out
    timeline = Timeline.load(next((pytester.path / "reports").glob("*/timeline.jsonl")))
    faults = {}
    for event in timeline.events:
        faults.setdefault(event.fault_id, (event.kind, event.targets, []))[2].append(event.phase)
    kinds = sorted((kind, targets[0]) for kind, targets, _ in faults.values())
    assert kinds == [("isolate-node", "node1"), ("isolate-node", "node2"), ("node-hang", "node3")], faults
    for kind, targets, phases in faults.values():
        assert phases == ["start", "effect-confirmed", "revert-started", "revert-confirmed"], (kind, phases)


KILLED_RUN = """
import sys, time
from harness.providers.host import registry
from harness.providers.local import LocalCluster
from harness.faults import IsolateNode, Latency, NodeHang
cluster = LocalCluster.attach(registry.load(int(sys.argv[1])))
Latency(cluster, hosts=["node2"], delay_ms=5).inject()
IsolateNode(cluster, node="node3").inject()
NodeHang(cluster, "node1").inject()
print("injected", flush=True)
time.sleep(600)
"""


def test_leftovers_of_a_sigkilled_run_are_removed_by_cleanup(gluster_cluster, volume_factory, mount_factory):
    volume = volume_factory("replica3")
    mount = mount_factory(volume, "client1")
    proc = subprocess.Popen([sys.executable, "-c", KILLED_RUN, str(gluster_cluster.entry.index)], cwd=REPO,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        assert line.strip() == "injected", proc.stderr.read() if proc.poll() is not None else line
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    node1 = gluster_cluster.node("node1")
    hung = procs(node1.pids())
    rules = fault_rules(gluster_cluster)
    assert rules["node2"] and rules["node3"] and delayers(gluster_cluster)  # the leftovers are there
    assert process_states(hung) == {"T"}

    out = subprocess.run(harness_command("cleanup"), capture_output=True, text=True, timeout=120, cwd=REPO)
    assert out.returncode == 0, out.stderr
    assert no_fault_rules(gluster_cluster), fault_rules(gluster_cluster)
    assert wait_for(lambda: delayers(gluster_cluster) == [], timeout=10, what="delayers to exit")
    assert "T" not in process_states(hung)
    assert fault_state_files(gluster_cluster) == []
    assert "removed fault leftover" in out.stderr
    wait_volume_whole(volume, [mount], timeout=120)


def test_cleanup_leaves_faults_of_live_processes_alone(gluster_cluster, volume_factory):
    with IsolateNode(gluster_cluster, node="node3"):
        out = subprocess.run(harness_command("cleanup"), capture_output=True, text=True, timeout=120, cwd=REPO)
        assert out.returncode == 0, out.stderr
        assert fault_rules(gluster_cluster)["node3"]  # still there: its owner (this process) lives
