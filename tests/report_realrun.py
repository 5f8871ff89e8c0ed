"""Real run records for the report tests: a self-heal scenario (H1) on the embedded local cluster.

A replica-3 volume is mounted; fio (workloads/randwrite.fio through harness.workloads.fio) writes
to it while the KillBrick fault (harness.faults) SIGKILLs one brick, small files are written
during the fault, the fault reverts (`volume start force`, confirmed whole), and
harness.health.wait_heal samples the heal backlog until it reaches 0.

Every phase holds fio operations by construction, however slow the machine: fio runs in short
rounds until the scenario stops it, each phase ends only once fio has measured an operation in it,
and self-heal stays off (daemon and client side) until fio has written after the revert, so the
heal phase cannot end before it holds a write. (With one fixed fio runtime, fio finished before
the revert on three loaded xdist workers and the heal phase held nothing.) The fault's own Timeline
file (timeline.jsonl) holds the fault window; the records follow /work/notes/records.md:
"cluster", "workload" (series file from fio's per-I/O latency log, phases, IOPS, fio JSON),
"heal", "history", "scenario". Produced once per pytest process into a folder that the tests
copy into the run folders of their pytester runs.
"""
from __future__ import annotations

import hashlib
import json
import threading
import time
from pathlib import Path

from harness.cluster import Cluster
from harness.faults.process import KillBrick
from harness.health import run_heal_command, wait_heal
from harness.profiles import Profile
from harness.report.summary import describe_cluster
from harness.results import Recorder
from harness.timeline import Phase as FaultPhase
from harness.timeline import Timeline, current_test, set_current_test
from harness.timeseries import Phase, phase_percentiles
from harness.volume import VolumeSpec, VolumeType, create_volume
from harness.waiting import wait_for
from harness.workloads.fio import FileTarget, FioJob, FioResult, fio_ops_completed, run_fio
from harness.workloads.scenario import merge_rounds

TEST_ID = "tests/report_realrun.py::H1"
SCENARIO = "H1"
COMPLETE = "records-complete"
BEFORE_S = 2.5  # a "before" phase long enough to show the normal latency band
FAULT_S = 3.0
FILES_DURING_FAULT = 40
ROUND_S = 4  # one fio round; rounds go on until the scenario stops them
NO_HEAL = {"cluster.self-heal-daemon": "off", "cluster.data-self-heal": "off",
           "cluster.metadata-self-heal": "off", "cluster.entry-self-heal": "off"}


def produce(out: Path, cluster: Cluster, profile: Profile) -> Path:
    """Record the scenario into `out` (records/, series/, workloads/) unless already done there."""
    if (out / COMPLETE).exists():
        return out
    out.mkdir(parents=True, exist_ok=True)
    recorder = Recorder(out, "realrun")
    recorder.record("cluster", describe_cluster(cluster))
    volume = create_volume(cluster, VolumeSpec(VolumeType.REPLICA3, {**profile.volume_options, **NO_HEAL}))
    mount = cluster.mount(volume)
    try:
        _scenario(out, recorder, cluster, volume, mount)
    finally:
        cluster.unmount(mount)
        volume.delete()
    (out / COMPLETE).write_text("ok\n")
    return out


class FioRounds(threading.Thread):
    """fio rounds of ROUND_S on the mount until stop(); `wait_for_operation` waits for one
    measured from the moment it is called."""

    def __init__(self, mount, folder: Path) -> None:  # noqa: ANN001
        super().__init__(name="fio")
        self.mount, self.folder = mount, folder
        self.results: list[FioResult] = []
        self.error: BaseException | None = None
        self._stop_rounds = threading.Event()

    def run(self) -> None:
        try:
            while not self._stop_rounds.is_set():
                self.results.append(run_fio(self.mount.client, FileTarget(self.mount),
                                            FioJob("randwrite", size="16M", runtime_s=ROUND_S), self.folder))
        except BaseException as exc:  # raised by the scenario's thread
            self.error = exc

    def wait_for_operation(self, what: str) -> None:
        # fio reports every 250 ms; the first increase may hold operations completed before this
        # call, the second holds only later ones.
        for _ in range(2):
            seen = fio_ops_completed(self.folder)
            wait_for(lambda: fio_ops_completed(self.folder) > seen or not self.is_alive(), timeout=120, what=what)
            if self.error is not None or not self.is_alive():
                raise RuntimeError(f"fio stopped before {what}") from self.error

    def stop(self) -> list[FioResult]:
        self._stop_rounds.set()
        self.join()
        if self.error is not None:
            raise self.error
        return self.results


def _scenario(out: Path, recorder: Recorder, cluster: Cluster, volume, mount) -> None:  # noqa: ANN001
    rounds = FioRounds(mount, out / "workloads")
    rounds.start()
    try:
        rounds.wait_for_operation("fio's first operation")
        time.sleep(BEFORE_S)  # scenario design: the "before" phase, not a wait for a state
        timeline, fault, history = _fault(out, cluster, volume, mount, rounds)
        rounds.wait_for_operation("a fio operation after the revert, before self-heal is enabled")
    finally:
        results = rounds.stop()
    events = {e.phase: e.wall for e in timeline.for_fault(fault.fault_id)}
    fault_start, healed_from = events[FaultPhase.START.value], events[FaultPhase.REVERTED.value]
    volume.set("cluster.self-heal-daemon", "on")
    run_heal_command(volume)
    heal = wait_heal(volume, timeout=120)
    heal_done = time.time()
    split_brain = volume.heal_summary().total_split_brain
    recorder.record("heal", {"scenario": SCENARIO, "volume": volume.name, "seconds": round(heal.seconds, 3),
                             "samples": [[round(t, 3), n] for t, n in heal.samples], "started": heal_done - heal.seconds},
                    test=TEST_ID)

    lost = [op["key"] for op in history if op["type"] == "ok" and (mount.path / op["key"]).read_text() != op["value"]]
    (out / "histories").mkdir(exist_ok=True)
    (out / "histories" / "H1.jsonl").write_text("".join(json.dumps(op) + "\n" for op in history))
    recorder.record("history", {"scenario": SCENARIO, "valid": not lost, "lost": lost, "phantom": [],
                                "ops": len(history) // 2, "file": "histories/H1.jsonl"}, test=TEST_ID)
    _records(out, recorder, volume, fault, results, (fault_start, healed_from, heal_done), heal, lost, split_brain)


def _fault(out: Path, cluster: Cluster, volume, mount, rounds: FioRounds):  # noqa: ANN001, ANN202
    timeline = Timeline(out / "timeline.jsonl")
    fault = KillBrick(cluster, volume, bricks=[1], timeline=timeline, mounts=[mount])
    history = []
    outer = current_test()
    set_current_test(TEST_ID)  # the fault is the scenario test's, like every record below (the plugin resets it)
    with fault:
        for i in range(FILES_DURING_FAULT):  # writes that the killed brick misses: the heal backlog
            value = hashlib.sha1(f"{i}".encode()).hexdigest()
            history.append({"type": "invoke", "f": "write", "key": f"h1-{i}", "value": value, "time": time.time()})
            (mount.path / f"h1-{i}").write_text(value)
            history.append({"type": "ok", "f": "write", "key": f"h1-{i}", "value": value, "time": time.time()})
        time.sleep(FAULT_S)  # scenario design: the fault's length
        rounds.wait_for_operation("a fio operation during the fault")
    set_current_test(outer)
    return timeline, fault, history


def _records(out: Path, recorder: Recorder, volume, fault, results: list[FioResult],  # noqa: ANN001
             marks_at: tuple[float, float, float], heal, lost: list[str], split_brain) -> None:  # noqa: ANN001
    fault_start, healed_from, heal_done = marks_at
    [series] = merge_rounds([list(r.series.values()) for r in results])
    (out / "series").mkdir(exist_ok=True)
    series_file = "series/H1-fio-randwrite-file.jsonl"
    (out / series_file).write_text("".join(json.dumps({"t": p.t, "latency_ms": p.latency_ms, "op": "write", "ok": p.ok}) + "\n"
                                           for p in series.points))
    end = max(p.t for p in series.points) + 1e-6
    marks = [("before", series.start, fault_start), ("during_fault", fault_start, healed_from),
             ("during_heal", healed_from, heal_done), ("after", heal_done, end)]
    phases = {}
    for stats in phase_percentiles(series, [Phase(n, a, max(a, b)) for n, a, b in marks]):
        if stats.count:
            lat = [p.latency_ms for p in series.points if stats.start <= p.t < stats.end and p.ok]
            pc = stats.percentiles_ms
            phases[stats.name] = {"count": stats.count, "p50_ms": pc["p50"], "p95_ms": pc["p95"], "p99_ms": pc["p99"],
                                  "p999_ms": pc["p99.9"], "max_ms": max(lat), "ops_per_s": stats.rate_per_s}
    recorder.record("workload", {
        "scenario": SCENARIO, "name": "fio-randwrite-file", "access": "file", "unit": "ms", "series_file": series_file,
        "phases": phases, "iops": len(series.points) / max(end - series.start, 1e-9), "unavailability": [],
        "history": None,
        "fio_json_file": str((results[0].out_dir / "fio.json").relative_to(out)),  # type: ignore[operator]
    }, test=TEST_ID)
    recorder.record("scenario", {
        "scenario": SCENARIO, "volume_type": "replica3", "options": dict(volume.spec.options),
        "fault": f"kill-brick {', '.join(fault.targets())} during writes, then volume start force",
        "expected": "pending heal reaches 0; no acknowledged write lost",
        "observed": f"heal to 0 in {heal.seconds:.1f} s; {len(lost)} of {FILES_DURING_FAULT} writes lost",
        "verdict": "pass" if not lost and split_brain == 0 else "fail",
        "evidence": {"split_brain_entries": split_brain, "heal_samples": len(heal.samples)},
    }, test=TEST_ID)


def adopt(source: Path, run_path: Path, test_id: str | None = None) -> None:
    """Copy recorded data into a run folder (as if this run had recorded it); with `test_id`, the
    records are attributed to that test instead of TEST_ID."""
    import shutil

    for folder in ("series", "workloads", "histories"):
        if (source / folder).is_dir():
            shutil.copytree(source / folder, run_path / folder, dirs_exist_ok=True)
    events = [json.loads(line) for line in (source / "timeline.jsonl").read_text().splitlines() if line.strip()]
    (run_path / "timeline-adopted.jsonl").write_text("".join(  # the fault follows its records to test_id
        json.dumps({**e, "test": test_id if test_id is not None and e.get("test") == TEST_ID else e.get("test")})
        + "\n" for e in events))
    (run_path / "records").mkdir(parents=True, exist_ok=True)
    lines = []
    for line in (source / "records" / "realrun.jsonl").read_text().splitlines():
        record = json.loads(line)
        if test_id is not None and record.get("test") == TEST_ID:
            record["test"] = test_id
        lines.append(json.dumps(record) + "\n")
    (run_path / "records" / "adopted.jsonl").write_text("".join(lines))
