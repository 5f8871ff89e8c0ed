"""Run folders written record by record exactly as /work/notes/records.md specifies, for the
gate and baseline logic tests (the end-to-end tests use a real run: report_realrun.py)."""
from __future__ import annotations

import json
from pathlib import Path

from harness.results import Recorder


def phase(p50: float, p99: float, count: int = 200, rate: float = 100.0) -> dict:
    return {"count": count, "p50_ms": p50, "p95_ms": (p50 + p99) / 2, "p99_ms": p99, "p999_ms": p99 * 1.2,
            "max_ms": p99 * 1.5, "ops_per_s": rate}


def write_run(run_path: Path, scenarios: list[dict]) -> Path:
    """One test per scenario dict: {id, test?, access? (file), phases?, iops?, heal_s? (None = timed out),
    heal_blocked_by?, unavailable_s?, lost?, split_brain?, storm_p99_s?}."""
    recorder = Recorder(run_path, "main")
    t = 1_800_000_000.0
    for sc in scenarios:
        test = sc.get("test", f"suites/test_x.py::test_{sc['id'].lower()}")
        series = f"series/{sc['id']}.jsonl"
        (run_path / "series").mkdir(parents=True, exist_ok=True)
        (run_path / series).write_text("".join(json.dumps({"t": t + i * 0.1, "latency_ms": 1.0 + (i % 7), "op": "write",
                                                           "ok": True}) + "\n" for i in range(100)))
        for event, dt in (("start", 2.0), ("effect_confirmed", 2.2), ("revert_started", 6.0), ("revert_confirmed", 6.5)):
            recorder.record("timeline", {"fault": "kill-brick", "targets": ["node2:/b1"], "event": event,
                                         "wall": t + dt, "mono": dt, "details": {}}, test=test)
        if "phases" in sc or "iops" in sc or "unavailable_s" in sc:
            gaps = [{"client": "client1", "start": t + 3, "end": t + 3 + sc["unavailable_s"], "errors": 4,
                     "first_error": "ENOTCONN"}] if sc.get("unavailable_s") else []
            recorder.record("workload", {
                "scenario": sc["id"], "name": f"fio-randwrite-{sc.get('access', 'file')}", "access": sc.get("access", "file"),
                "unit": "ms",
                "series_file": series, "phases": sc.get("phases", {"before": phase(1.0, 5.0)}), "iops": sc.get("iops"),
                "unavailability": gaps}, test=test)
        if "heal_s" in sc:
            recorder.record("heal", {"scenario": sc["id"], "volume": "v1", "seconds": sc["heal_s"],
                                     "samples": [[0.0, 30], [1.0, None], [2.0, 10]] + ([[sc["heal_s"], 0]] if sc["heal_s"] else []),
                                     "started": t + 6.5, "blocked_by": sc.get("heal_blocked_by")}, test=test)
        if "lost" in sc:
            recorder.record("history", {"scenario": sc["id"], "valid": not sc["lost"], "lost": sc["lost"], "phantom": [],
                                        "ops": 50, "file": f"histories/{sc['id']}.jsonl"}, test=test)
        if "storm_p99_s" in sc:
            recorder.record("storm", {"n_volumes": 20, "concurrency": 4, "brick_multiplex": True, "p50_s": 0.5,
                                      "p95_s": 1.0, "p99_s": sc["storm_p99_s"], "max_s": 2.0, "volumes_per_min": 60.0,
                                      "errors": [], "curve": []}, test=test)
        recorder.record("scenario", {"scenario": sc["id"], "volume_type": "replica2", "options": {}, "fault": "f",
                                     "expected": "e", "observed": "o", "verdict": "pass",
                                     "evidence": {"split_brain_entries": sc.get("split_brain", 0)}}, test=test)
        t += 100
    return run_path
