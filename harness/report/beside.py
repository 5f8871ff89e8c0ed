"""This run's conformance matrix beside another provider's run: the same rows, a verdict column each.

Rows are matched by scenario, volume type and fault (the fault's words name nodes and zones the same
way on every provider). A row one run lacks shows "not run": skipped there, or not in its selection.
"""
from __future__ import annotations

NOT_RUN = "not run"


def _key(row: dict) -> tuple[str, str, str]:
    return (row["scenario"], row["volume_type"], row["fault"])


def _verdicts(rows: list[dict]) -> dict[tuple[str, str, str], str]:
    found: dict[tuple[str, str, str], list[str]] = {}
    for row in rows:
        found.setdefault(_key(row), []).append(row["verdict"])
    return {key: ", ".join(v) for key, v in found.items()}


def beside_section(this: dict, other: dict, source: str) -> dict:
    """The summary's "beside" section: this run's rows with `other`'s (a summary.json read from
    `source`); one verdict per run, in the order of `runs`."""
    runs = [this, other]
    verdicts = [_verdicts(run["scenarios"]) for run in runs]
    keys = sorted(set().union(*verdicts))
    rows = [{"scenario": s, "volume_type": v, "fault": f, "verdicts": [by.get((s, v, f), NOT_RUN) for by in verdicts]}
            for s, v, f in keys]
    differ = sum(1 for r in rows if NOT_RUN not in r["verdicts"] and len(set(r["verdicts"])) > 1)
    return {"runs": [{"provider": r["provider"], "run_id": r["run_id"]} for r in runs], "source": source,
            "rows": rows, "differing": differ}


def format_beside(section: dict) -> list[str]:
    """Terminal lines: scenario, volume, fault, then one verdict column per provider."""
    header = ("scenario", "volume", "fault", *(f"{r['provider']} ({r['run_id']})" for r in section["runs"]))
    table = [header] + [(r["scenario"], r["volume_type"], r["fault"], *r["verdicts"]) for r in section["rows"]]
    widths = [max(len(str(row[i])) for row in table) for i in range(len(header))]
    lines = ["  ".join(str(c).ljust(w) for c, w in zip(row, widths)).rstrip() for row in table]
    return lines + [f"{section['differing']} row(s) with different verdicts where both ran"]
