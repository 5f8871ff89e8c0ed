"""summary.json: one document per run that CI, baselines and people read.

`build_summary` is a pure function of the run's records (see /work/notes/records.md), the pytest
outcomes and the run's settings; `validate_summary` checks a document against
summary.schema.json (beside this file), which documents every field.
"""
from __future__ import annotations

import json
import time
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable

from ..errors import ConfigError
from ..conformance import in_words
from ..results import load_records

SUMMARY_FILE = "summary.json"
SCHEMA_PATH = Path(__file__).with_name("summary.schema.json")
SCHEMA_VERSION = 1
PHASES = ("before", "during_fault", "during_heal", "after")
# Scenario rows put the split-brain count they saw under one of these evidence keys.
SPLIT_BRAIN_KEYS = ("split_brain_entries", "split_brain")
NO_TESTS = "no tests"
NO_TESTS_REASON = "no test ran: nothing was collected or every test was deselected"


def build_summary(
    run_path: Path,
    *,
    run_id: str,
    provider: str,
    profile: str,
    started: float | None,
    finished: float | None = None,
    tests: Iterable[dict] = (),
    cluster: dict | None = None,
) -> dict:
    """The summary of a run folder, without gates and baseline (see `attach_verdict`).

    `cluster` defaults to the last "cluster" record a worker wrote (its description at start-up).
    """
    records = load_records(run_path)
    by_kind: dict[str, list[dict]] = {}
    for rec in records:
        by_kind.setdefault(rec["kind"], []).append(rec)
    finished = time.time() if finished is None else finished
    if started is None:  # offline rebuild: the earliest record is the best we know
        started = min((r["time"] for r in records), default=finished)
    tests = sorted(tests, key=lambda t: t["nodeid"])
    totals = {o: 0 for o in ("passed", "failed", "error", "skipped", "xfailed", "xpassed")}
    for t in tests:
        totals[t["outcome"]] = totals.get(t["outcome"], 0) + 1
    workloads = [_workload(r) for r in by_kind.get("workload", [])]
    heals = [_heal(r) for r in by_kind.get("heal", [])]
    histories = [_history(r) for r in by_kind.get("history", [])]
    storms = [_storm(r) for r in by_kind.get("storm", [])]
    scenarios = sorted((_scenario(r) for r in by_kind.get("scenario", [])),
                       key=lambda r: (r["scenario"], r["volume_type"], r["test"] or ""))
    return {
        "schema_version": SCHEMA_VERSION,
        "run_id": run_id,
        "started": started,
        "finished": finished,
        "started_iso": _iso(started),
        "finished_iso": _iso(finished),
        "provider": provider,
        "profile": profile,
        "cluster": _cluster(cluster if cluster is not None else _last(by_kind.get("cluster", []))),
        "tests": tests,
        "totals": totals,
        "scenarios": scenarios,
        "workloads": workloads,
        "heal": heals,
        "faults": fault_windows(by_kind.get("timeline", []) + timeline_file_events(run_path)),
        "histories": histories,
        "storms": storms,
        "metrics": scenario_metrics(scenarios, workloads, heals, histories, storms),
        "gates": None,
        "baseline": None,
        "verdict": None,
    }


def attach_verdict(summary: dict, gates: dict | None, baseline: dict | None) -> dict:
    """Add gate and baseline results and the overall verdict: "fail" on any failed or errored test,
    conformance row with verdict "fail", gate violation or baseline regression."""
    summary["gates"] = gates
    summary["baseline"] = baseline
    reasons: list[str] = []
    broken = summary["totals"].get("failed", 0) + summary["totals"].get("error", 0)
    if broken:
        reasons.append(f"{broken} test(s) failed or errored")
    failed_rows = [r["scenario"] for r in summary["scenarios"] if r["verdict"] == "fail"]
    if failed_rows:
        reasons.append(f"conformance scenario(s) failed: {', '.join(sorted(set(failed_rows)))}")
    if gates:
        reasons += [v["line"] for v in gates["violations"]]
    if baseline:
        reasons += [r["line"] for r in baseline["rows"] if r["regressed"]]
    if ran_no_tests(summary):  # an empty run proves nothing: it must never read as a pass
        summary["verdict"] = {"result": NO_TESTS, "reasons": [NO_TESTS_REASON] + reasons}
    else:
        summary["verdict"] = {"result": "fail" if reasons else "pass", "reasons": reasons}
    return summary


def ran_no_tests(summary: dict) -> bool:
    """True when the run had no test outcome at all (nothing collected, or every test deselected).
    Also true of summaries written before the "no tests" verdict existed (they said "pass")."""
    return (summary.get("verdict") or {}).get("result") == NO_TESTS or not summary.get("tests")


def timeline_file_events(run_path: Path) -> list[dict]:
    """Events of the faults' own Timeline files (harness.timeline: run folder timeline*.jsonl, one
    per xdist worker), in the shape of "timeline" records, with the test and process that recorded
    them (files written before events named their test have none: reports place those by time)."""
    events = []
    for path in sorted(run_path.glob("timeline*.jsonl")):
        for line in path.read_text().splitlines():
            if not line.strip():
                continue
            e = json.loads(line)
            events.append({"fault": e.get("kind"), "fault_id": e.get("fault_id"), "event": e.get("phase"),
                           "targets": e.get("targets", []), "wall": e["wall"], "mono": e.get("mono"),
                           "time": e["wall"], "test": e.get("test"), "pid": e.get("pid"),
                           "details": e.get("details") or {}})
    return events


WINDOW_ENDS = ("revert_confirmed", "revert_partial", "failed")


def fault_windows(events: list[dict]) -> list[dict]:
    """Pair timeline events into windows: start -> revert confirmed (end null while never reverted).

    Events of one fault are paired by `fault_id` when the recorder gave one, otherwise by
    (test, fault, targets) in order. Event names accept "_" or "-" ("effect_confirmed"); "failed"
    (an inject that failed and was rolled back) and "revert_partial" close the window.
    """
    windows: list[dict] = []
    open_: dict[tuple, dict] = {}
    for ev in sorted(events, key=lambda e: e.get("wall", e["time"])):
        fault = ev.get("fault") or ev.get("fault_kind") or "fault"
        targets = [str(t) for t in ev.get("targets", [])]
        key = (ev.get("fault_id"),) if ev.get("fault_id") else (ev.get("test"), fault, tuple(targets))
        name = str(ev.get("event") or ev.get("phase") or "").replace("-", "_")
        wall = float(ev.get("wall", ev["time"]))
        if name == "start" or key not in open_:
            if name != "start" and name not in ("effect_confirmed", "revert_started", *WINDOW_ENDS):
                continue
            window = {"fault": fault, "fault_id": ev.get("fault_id"), "targets": targets, "test": ev.get("test"),
                      "pid": ev.get("pid"), "start": wall, "effect": None, "revert_start": None, "end": None,
                      "details": ev.get("details") or {}}
            windows.append(window)
            open_[key] = window
        window = open_[key]
        if name == "effect_confirmed":
            window["effect"] = wall
        elif name == "revert_started":
            window["revert_start"] = wall
        elif name in WINDOW_ENDS:
            window["end"] = wall
            if name == "failed":
                window["details"] = {**window["details"], "failed": True}
            del open_[key]
    return windows


def scenario_metrics(scenarios: list[dict], workloads: list[dict], heals: list[dict], histories: list[dict],
                     storms: list[dict]) -> dict[str, dict]:
    """Per scenario, the worst value of each gated quantity (null: not measured in this run)."""
    metrics: dict[str, dict] = {}

    def entry(scenario: str) -> dict:
        return metrics.setdefault(scenario, {
            "fault_p99_ms": None, "unavailability_s": None, "heal_s": None, "heal_timed_out": False,
            "lost_writes": None, "split_brain_entries": None, "provision_p99_s": None, "iops": None,
        })

    for row in scenarios:
        m = entry(row["scenario"])
        for count in _split_brain_counts({"evidence": row.get("evidence"), "observed": row.get("observed")}):
            m["split_brain_entries"] = _max(m["split_brain_entries"], count)
    for w in workloads:
        m = entry(w["scenario"])
        m["fault_p99_ms"] = _max(m["fault_p99_ms"], (w["phases"].get("during_fault") or {}).get("p99_ms"))
        m["unavailability_s"] = _max(m["unavailability_s"], w["max_unavailability_s"])
        if w["iops"] is not None:
            m["iops"] = (m["iops"] or 0.0) + w["iops"]
        if w["history"] is not None:
            m["lost_writes"] = (m["lost_writes"] or 0) + len(w["history"].get("lost") or [])
        if w["heal_s"] is not None:  # workload suites measure the heal after their fault themselves
            m["heal_s"] = _max(m["heal_s"], w["heal_s"])
    for h in heals:
        m = entry(h["scenario"])
        if h["seconds"] is None and not h.get("blocked_by"):  # a known defect's stall is reported as such
            m["heal_timed_out"] = True
        else:
            m["heal_s"] = _max(m["heal_s"], h["seconds"])
        if h.get("split_brain_entries") is not None:
            m["split_brain_entries"] = _max(m["split_brain_entries"], h["split_brain_entries"])
    for hist in histories:
        m = entry(hist["scenario"])
        m["lost_writes"] = (m["lost_writes"] or 0) + len(hist["lost"])
    for s in storms:
        m = entry(s["scenario"])
        m["provision_p99_s"] = _max(m["provision_p99_s"], s["p99_s"])
    return dict(sorted(metrics.items()))


def _split_brain_counts(value: Any, depth: int = 0) -> list[int]:
    """Split-brain counts a row reports under SPLIT_BRAIN_KEYS, in its evidence or observed value,
    also inside nested check results (a composed check keeps its parts' results in evidence);
    a list counts its entries. Never looks at "expected"."""
    if depth > 4 or not isinstance(value, dict):
        return []
    counts = []
    for key, item in value.items():
        if key in SPLIT_BRAIN_KEYS:
            if isinstance(item, list):
                counts.append(len(item))
            elif isinstance(item, (int, float)) and not isinstance(item, bool):
                counts.append(int(item))
        elif key != "expected":
            counts += _split_brain_counts(item, depth + 1)
    return counts


def validate_summary(summary: dict) -> None:
    """Raise ConfigError naming the first field that does not follow summary.schema.json."""
    import jsonschema

    try:
        jsonschema.validate(summary, load_schema())
    except jsonschema.ValidationError as exc:
        where = "/".join(str(p) for p in exc.absolute_path) or "(top level)"
        raise ConfigError(f"summary does not follow {SCHEMA_PATH.name} at {where}: {exc.message}") from None


@lru_cache(maxsize=1)
def load_schema() -> dict:
    return json.loads(SCHEMA_PATH.read_text())


def _workload(r: dict) -> dict:
    windows = [dict(w, seconds=max(0.0, float(w["end"]) - float(w["start"]))) for w in r.get("unavailability") or []]
    return {
        "test": r.get("test"),
        "pid": r.get("pid"),  # the recording process (xdist worker): places faults without a test id
        "scenario": str(r.get("scenario") or "-"),
        "name": str(r.get("name") or "workload"),
        "access": r.get("access"),
        "unit": r.get("unit", "ms"),
        "series_file": r.get("series_file"),
        "phases": {p: r["phases"][p] for p in PHASES if (r.get("phases") or {}).get(p)},
        "iops": r.get("iops"),
        "unavailability": windows,
        "max_unavailability_s": max((w["seconds"] for w in windows), default=0.0),
        "history": r.get("history"),
        "heal_s": r.get("heal_s") if isinstance(r.get("heal_s"), (int, float)) else None,
        "files": {k: v for k, v in r.items() if k.endswith("_file") and k != "series_file" and isinstance(v, str)},
    }


def _heal(r: dict) -> dict:
    return {
        "test": r.get("test"),
        "scenario": str(r.get("scenario") or "-"),
        "volume": r.get("volume"),
        "seconds": r.get("seconds"),
        "samples": r.get("samples") or [],
        "started": r.get("started", r["time"]),
        "split_brain_entries": r.get("split_brain_entries"),
        "blocked_by": r.get("blocked_by"),
    }


def _history(r: dict) -> dict:
    return {"test": r.get("test"), "scenario": str(r.get("scenario") or "-"), "valid": r.get("valid"),
            "lost": list(r.get("lost") or []), "phantom": list(r.get("phantom") or []), "ops": r.get("ops"),
            "file": r.get("file")}


def _storm(r: dict) -> dict:
    keys = ("n_volumes", "concurrency", "brick_multiplex", "p50_s", "p95_s", "p99_s", "max_s", "volumes_per_min")
    return {"test": r.get("test"), "scenario": str(r.get("scenario") or "storm"), **{k: r.get(k) for k in keys},
            "errors": list(r.get("errors") or []), "curve": list(r.get("curve") or [])}


def _scenario(r: dict) -> dict:
    keys = ("scenario", "volume_type", "options", "fault", "expected", "observed", "verdict", "evidence")
    row = in_words(r)  # rows recorded before words: rewritten from their evidence
    return {"test": r.get("test"), **{k: row.get(k) for k in keys}}


def _cluster(c: dict | None) -> dict:
    c = c or {}
    nodes = [{"name": n.get("name"), "zone": n.get("zone"), "address": n.get("address")} for n in c.get("nodes", [])]
    return {
        "nodes": nodes,
        "clients": [{"name": x.get("name"), "address": x.get("address")} for x in c.get("clients", [])],
        "zones": sorted({n["zone"] for n in nodes if n["zone"]}),
        "gluster_version": c.get("gluster_version"),
        "kubernetes_version": c.get("kubernetes_version"),  # a Kubernetes provider's server, from GET /version
        "description": c.get("provider"),  # which cluster of the provider, e.g. "k8s-local cluster glh3"
        "capabilities": c.get("capabilities", []),
    }


def describe_cluster(cluster: Any) -> dict:
    """A cluster's description for a "cluster" record: nodes, zones, clients, gluster version."""
    desc = cluster.describe()
    version = None
    try:
        result = cluster.nodes[0].run(["gluster", "--version"], timeout=10, check=False)
        version = result.stdout.split("\n", 1)[0].strip() or None if result.ok else None
    except Exception:  # the description must never break a run; the version stays unknown
        version = None
    desc["gluster_version"] = version
    return desc


def _last(items: list[dict]) -> dict | None:
    return items[-1] if items else None


def _max(a: float | None, b: float | None) -> float | None:
    if a is None:
        return b
    if b is None:
        return a
    return max(a, b)


def _iso(epoch: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))
