"""Parallel suites: `pytest -n 2` gives the serial verdicts, one merged report, and leaves nothing.

Runs a set of real suite tests (the storm with and without multiplexing, the smoke round trip)
twice as subprocesses, serially and with pytest-xdist, each run under its own run root. Every
xdist worker gets its own cluster (own glh<N> namespaces, /24 and root); the controller merges the
workers' records into one run folder.
"""
from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from harness.providers.host import registry
from harness.providers.host.netns import existing_namespaces
from harness.results import load_records
from harness.providers.host.teardown import mounts_under

REPO = Path(__file__).resolve().parents[2]
SUITE_TESTS = [
    "suites/test_storm.py::test_provisioning_storm[mux-on]",
    "suites/test_storm.py::test_provisioning_storm[mux-off]",
    "suites/test_smoke.py::test_replica3_volume_round_trips_data",
]
RUN_TIMEOUT_S = 900


def run_suites(report_dir: Path, root: Path, *extra: str) -> tuple[subprocess.CompletedProcess, Path]:
    """Run SUITE_TESTS in a pytest subprocess; return its result and its run folder."""
    # A generous storm gate: this test is about parallel equivalence, not the speed of a loaded machine.
    gates = report_dir.parent / f"thresholds-{report_dir.name}.toml"
    gates.write_text("[fast]\nmax_provision_p99_s = 300\n")
    env = {**os.environ, "GLUSTER_STORM_VOLUMES": "4", "GLUSTER_PROFILE": "fast", "GLUSTER_THRESHOLDS": str(gates)}
    env.pop("PYTEST_XDIST_WORKER", None)
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", *SUITE_TESTS, *extra, "-p", "no:cacheprovider", "-q",
         f"--report-dir={report_dir}", f"--gluster-root={root}"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=RUN_TIMEOUT_S,
    )
    runs = [p for p in report_dir.iterdir() if p.is_dir() and not p.is_symlink()] if report_dir.exists() else []
    assert len(runs) == 1, f"expected one merged run folder, found {runs}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc, runs[0]


def junit_verdicts(run: Path) -> list[tuple[str, str]]:
    """(nodeid, verdict) for every testcase of the run's junit.xml, in file order (duplicates kept)."""
    cases = []
    for case in ET.parse(run / "junit.xml").getroot().iter("testcase"):
        path = case.get("classname", "").replace(".", "/")
        nodeid = f"{path}.py::{case.get('name')}"
        verdict = next((tag for tag in ("failure", "error", "skipped") if case.find(tag) is not None), "passed")
        cases.append((nodeid, verdict))
    return cases


def leftovers_of(run_ids: set[str], base: Path) -> list[str]:
    """Anything of these clusters still on the machine: namespaces, processes, mounts, directories."""
    found = []
    claimed_elsewhere = {e.run_id for e in registry.entries() if not e.root.startswith(str(base) + "/")}
    for ns in existing_namespaces():
        owner = ns.split("-", 1)[0]
        # A slot freed by our run may already be reused by another run on the machine (other root).
        if owner in run_ids and owner not in claimed_elsewhere:
            found.append(f"namespace {ns}")
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
        if str(base) + "/" in cmdline and int(pid) != os.getpid():
            found.append(f"process {pid}: {cmdline[:120]}")
    found += [f"mount {m}" for m in mounts_under(base)]
    found += [f"directory {base / r}" for r in sorted(run_ids) if (base / r).exists()]
    found += [f"registry entry {e.run_id}" for e in registry.entries() if e.root.startswith(str(base) + "/")]
    return found


@pytest.fixture
def run_base():
    """A run root of our own, so processes, mounts and directories are told apart from other runs'."""
    base = Path(f"/var/tmp/glusterharness-partest-{secrets.token_hex(3)}")
    yield base
    shutil.rmtree(base, ignore_errors=True)


@pytest.mark.slow
def test_parallel_run_matches_serial_merges_once_and_leaves_nothing(tmp_path: Path, run_base: Path):
    serial_proc, serial = run_suites(tmp_path / "serial", run_base)
    parallel_proc, parallel = run_suites(tmp_path / "parallel", run_base, "-n", "2")
    output = (f"serial:\n{serial_proc.stdout[-2000:]}\n"
              f"parallel:\n{parallel_proc.stdout[-2000:]}{parallel_proc.stderr[-2000:]}")

    # Same verdicts, and the merged junit report holds every test exactly once.
    serial_cases, parallel_cases = junit_verdicts(serial), junit_verdicts(parallel)
    assert sorted(n for n, _ in parallel_cases) == sorted(SUITE_TESTS), output
    assert dict(parallel_cases) == dict(serial_cases), output
    assert parallel_proc.returncode == serial_proc.returncode, output

    # The merged summary and records hold every test once, written by two workers with two clusters.
    summary = json.loads((parallel / "summary.json").read_text())
    assert sorted(t["nodeid"] for t in summary["tests"]) == sorted(SUITE_TESTS)
    assert {t["nodeid"]: t["outcome"] for t in summary["tests"]} == {
        t["nodeid"]: t["outcome"] for t in json.loads((serial / "summary.json").read_text())["tests"]}
    storms = load_records(parallel, "storm")
    assert sorted(r["test"] for r in storms) == sorted(SUITE_TESTS[:2])
    workers = {p.name for p in (parallel / "records").glob("gw*.jsonl")}
    assert workers == {"gw0.jsonl", "gw1.jsonl"}, f"both workers record into the one run folder: {workers}"
    clusters = {r["run_id"] for r in load_records(parallel, "cluster")}
    assert len(clusters) == 2, f"each worker has its own cluster, got {clusters}"
    assert {r["cluster"] for r in storms} <= clusters

    # Cleanup after both runs: nothing of their clusters is left on the machine.
    run_ids = clusters | {r["run_id"] for r in load_records(serial, "cluster")}
    assert leftovers_of(run_ids, run_base) == []


def test_leftover_finder_reports_a_live_cluster(gluster_cluster):
    # Negative control for the cleanup assertion: a running cluster is reported in every respect.
    root = Path(gluster_cluster.root)
    run_id = gluster_cluster.run_id
    found = leftovers_of({run_id}, root.parent)
    assert f"namespace {run_id}-node1" in found and f"namespace {run_id}-sw" in found, found
    assert f"directory {root}" in found and f"registry entry {run_id}" in found, found
    glusterd = gluster_cluster.nodes[0].glusterd_pid()
    assert any(f.startswith(f"process {glusterd}: glusterd") for f in found), found
