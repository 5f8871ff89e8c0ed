"""report.html: one self-contained page (CSS inline, plots embedded as data: URIs) read in a browser.

Top to bottom: the verdict and why, the run (cluster, profile, totals), gate violations and
baseline regressions, the conformance matrix, then per scenario its latency timeline, heal
backlog curve and a table of percentiles per phase, and finally every test's outcome.
"""
from __future__ import annotations

import base64
import json
from html import escape
from pathlib import Path
from typing import Any, Iterable

from .plots import Plot
from .summary import PHASES

REPORT_FILE = "report.html"

METRIC_LABELS = {
    "fault_p99_ms": "p99 during fault (ms)", "unavailability_s": "longest unavailability (s)",
    "heal_s": "heal time (s)", "heal_timed_out": "heal timed out", "lost_writes": "lost writes",
    "split_brain_entries": "split-brain entries", "provision_p99_s": "provisioning p99 (s)", "iops": "IOPS",
}

# Marks on <body> how many plots the browser decoded ("2/2"): lets a headless-browser test tell a
# page whose images load from one with a broken embedded plot.
IMAGE_CHECK = ("<script>window.addEventListener('load',function(){var i=Array.prototype.slice.call(document.images);"
               "document.body.setAttribute('data-images-loaded',i.filter(function(x){return x.complete&&"
               "x.naturalWidth>0;}).length+'/'+i.length);});</script>")

# overflow-wrap:anywhere lets a hash or a brick path break where it must, so no text widens the page; the
# tables of long text are laid out by fixed column widths (their <colgroup>) instead of by their longest word.
CSS = """
body{font-family:"DejaVu Sans",Arial,sans-serif;margin:0;color:#1d1d1d;background:#fafafa}
main{max-width:1200px;margin:0 auto;padding:16px 24px;overflow-wrap:anywhere}
#matrix,#tests{table-layout:fixed;width:100%}
h1{font-size:22px;margin:8px 0} h2{font-size:18px;margin:28px 0 8px;border-bottom:1px solid #ccc}
h3{font-size:15px;margin:18px 0 6px}
#verdict{padding:14px 20px;border-radius:6px;color:#fff;font-size:20px;font-weight:bold}
#verdict.pass{background:#2e7d32} #verdict.fail{background:#c62828}
#verdict ul{font-size:14px;font-weight:normal;margin:8px 0 0 0}
table{border-collapse:collapse;font-size:13px;margin:6px 0;background:#fff}
th,td{border:1px solid #d0d0d0;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#eceff1} td.num{text-align:right;font-variant-numeric:tabular-nums}
.v-pass{background:#c8e6c9} .v-fail{background:#ffcdd2} .v-unknown{background:#fff3c4}
.o-passed{color:#2e7d32} .o-failed,.o-error{color:#c62828;font-weight:bold} .o-skipped{color:#777}
img.plot{max-width:100%;border:1px solid #ddd;background:#fff;margin:6px 0}
.muted{color:#666;font-size:12px} code{font-size:12px}
"""


def render(summary: dict, plots: Iterable[Plot]) -> str:
    """The page for a summary (with gates, baseline and verdict attached) and its plots."""
    plots = list(plots)
    v = summary["verdict"] or {"result": "pass", "reasons": []}
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>GlusterFS conformance run {escape(summary['run_id'])}: {v['result'].upper()}</title>",
        f"<style>{CSS}</style></head><body><main>",
        f"<h1>GlusterFS conformance run <code>{escape(summary['run_id'])}</code></h1>",
        _verdict(v),
        _run_info(summary),
        _violations(summary),
        "<h2>Conformance matrix</h2>",
        _matrix(summary["scenarios"]),
    ]
    if summary.get("beside"):
        parts.append(_beside(summary["beside"]))
    scenarios = sorted(set(summary["metrics"]) | {p.scenario for p in plots})
    if scenarios:
        parts.append("<h2>Scenarios</h2>")
    for scenario in scenarios:
        parts.append(_scenario(summary, scenario, [p for p in plots if p.scenario == scenario]))
    if summary.get("baseline"):
        parts.append(_baseline(summary["baseline"]))
    parts.append("<h2>Tests</h2>")
    parts.append(_table(("test", "outcome", "seconds", "message"),
                        [(t["nodeid"], (t["outcome"], f"o-{t['outcome']}"), _num(t["duration_s"]),
                          _short(t.get("message") or "", 200)) for t in summary["tests"]],
                        table_id="tests", widths=(38, 8, 7, 47), empty="no test ran"))
    parts.append(f"<p class='muted'>summary.json holds every figure on this page. "
                 f"Written {escape(summary['finished_iso'])}.</p></main>{IMAGE_CHECK}</body></html>")
    return "\n".join(parts)


def write(summary: dict, plots: Iterable[Plot], run_path: Path) -> Path:
    target = run_path / REPORT_FILE
    tmp = target.with_suffix(".html.tmp")
    tmp.write_text(render(summary, plots))
    tmp.replace(target)
    return target


def _verdict(v: dict) -> str:
    reasons = "".join(f"<li>{escape(r)}</li>" for r in v["reasons"])
    text = {"pass": "PASS: every test, gate and baseline comparison passed", "no tests": "NO TESTS"}.get(
        v["result"], "FAIL")
    css = "pass" if v["result"] == "pass" else "fail"  # "no tests" fails: shown like a fail
    return f"<div id='verdict' class='{css}'>{text}{'<ul>' + reasons + '</ul>' if reasons else ''}</div>"


def _run_info(s: dict) -> str:
    c = s["cluster"]
    nodes = ", ".join(f"{n['name']} ({n['zone']}, {n['address']})" for n in c["nodes"]) or "not recorded"
    totals = ", ".join(f"{n} {k}" for k, n in s["totals"].items() if n) or "no test ran"
    rows = [
        ("run", s["run_id"]), ("started", s["started_iso"]), ("finished", s["finished_iso"]),
        ("provider", s["provider"] + (f" ({c['description']})" if c.get("description") else "")),
        ("profile", s["profile"]),
        *([("kubernetes", c["kubernetes_version"])] if c.get("kubernetes_version") else []),
        ("gluster", c["gluster_version"] or "unknown"),
        ("capabilities", ", ".join(c.get("capabilities", [])) or "-"), ("nodes", nodes), ("zones", ", ".join(c["zones"]) or "-"),
        ("tests", totals),
    ]
    return "<h2>Run</h2>" + _table(("", ""), rows, header_row=False)


def _violations(s: dict) -> str:
    out = []
    gates = s.get("gates")
    if gates:
        out.append(f"<h2>Gates</h2><p class='muted'>limits from <code>{escape(gates['file'])}</code>, "
                   f"profile {escape(gates['profile'])}</p>")
        rows = [(r["gate"], r["scenario"], _num(r["limit"]) + _unit(r["unit"]),
                 (r["measured"] if isinstance(r["measured"], str) else _num(r["measured"]) + _unit(r["unit"])),
                 ("ok", "v-pass") if r["passed"] else ("VIOLATED", "v-fail"))
                for r in sorted(gates["results"], key=lambda r: (r["passed"], r["scenario"], r["gate"]))]
        out.append(_table(("gate", "scenario", "limit", "measured", "verdict"), rows, empty="nothing measured to gate"))
    return "".join(out)


def _matrix(rows: list[dict]) -> str:
    # expected and observed are the checks' own words (conformance rows): long, and all of them matter
    body = [(r["scenario"], r["volume_type"], _options(r["options"]), r["fault"], _short(r["expected"], 600),
             _short(r["observed"], 800), (r["verdict"], f"v-{r['verdict']}")) for r in rows]
    return _table(("scenario", "volume", "options", "fault", "expected", "observed", "verdict"), body,
                  table_id="matrix", widths=(8, 8, 14, 13, 23, 26, 8),
                  empty="no conformance scenario recorded in this run")


def _beside(b: dict) -> str:
    runs = [f"{r['provider']} ({r['run_id']})" for r in b["runs"]]
    body = [(r["scenario"], r["volume_type"], r["fault"], *((v, f"v-{v.replace(' ', '-')}") for v in r["verdicts"])) for r in b["rows"]]
    return (f"<h2>Beside {escape(runs[1])}</h2><p class='muted'>The same rows from {escape(b['source'])}; "
            f"{b['differing']} row(s) differ where both ran. \"not run\": skipped or not selected there.</p>"
            + _table(("scenario", "volume", "fault", *runs), body, empty="no rows in either run"))


def _scenario(s: dict, scenario: str, plots: list[Plot]) -> str:
    out = [f"<section class='scenario' id='scenario-{escape(scenario)}'><h3>{escape(scenario)}</h3>"]
    m = s["metrics"].get(scenario)
    if m:
        shown = [(METRIC_LABELS.get(k, k), v) for k, v in m.items() if v is not None and v is not False]
        if shown:
            out.append(_table([k for k, _ in shown], [[_num(v) if not isinstance(v, bool) else "yes" for _, v in shown]]))
    for p in plots:
        data = base64.b64encode(p.path.read_bytes()).decode()
        css = "plot timeline" if p.kind == "latency" else "plot heal"
        out.append(f"<div><img class='{css}' alt='{escape(p.title)}' title='{escape(p.path.name)}' "
                   f"src='data:image/png;base64,{data}'></div>")
    rows = []
    for w in (w for w in s["workloads"] if w["scenario"] == scenario):
        for phase in PHASES:
            st = w["phases"].get(phase)
            if st:
                rows.append((w["name"], phase.replace("_", " "), _num(st.get("count")),
                             *(_num(st.get(k)) for k in ("p50_ms", "p95_ms", "p99_ms", "p999_ms", "max_ms", "ops_per_s"))))
        if w["unavailability"]:
            out.append(f"<p>{escape(w['name'])}: unavailable {len(w['unavailability'])} time(s), longest "
                       f"{w['max_unavailability_s']:.1f} s</p>")
    if rows:
        out.append(_table(("workload", "phase", "ops", "p50 ms", "p95 ms", "p99 ms", "p99.9 ms", "max ms", "ops/s"),
                          rows, numeric_from=2))
    if len(out) == 1:
        out.append("<p class='muted'>no latency, heal or gated measurement recorded for this scenario</p>")
    out.append("</section>")
    return "".join(out)


def _baseline(b: dict) -> str:
    rows = [(r["scenario"], r["metric"], _num(r["baseline"]), _num(r["current"]),
             "" if r["change_pct"] is None else f"{r['change_pct']:+.1f} %",
             ("REGRESSION", "v-fail") if r["regressed"] else ("ok", "v-pass")) for r in b["rows"]]
    return (f"<h2>Baseline comparison</h2><p class='muted'>against run {escape(b['baseline_run_id'])} "
            f"(<code>{escape(b['file'])}</code>), regression beyond {b['regression_pct']:g} %</p>"
            + _table(("scenario", "metric", "baseline", "current", "change", "verdict"), rows, numeric_from=2))


def _table(header: Iterable[str], rows: Iterable[Iterable[Any]], *, header_row: bool = True,
           table_id: str | None = None, empty: str = "", numeric_from: int | None = None,
           widths: tuple[int, ...] = ()) -> str:
    """An HTML table; `widths` (percent of the table, one per column) lay it out fixed (CSS)."""
    rows = [list(r) for r in rows]
    if not rows and empty:
        return f"<p class='muted' id='{table_id or ''}'>{escape(empty)}</p>"
    attr = f" id='{table_id}'" if table_id else ""
    out = [f"<table{attr}>"]
    if widths:
        out.append("<colgroup>" + "".join(f"<col style='width:{w}%'>" for w in widths) + "</colgroup>")
    if header_row:
        out.append("<tr>" + "".join(f"<th>{escape(str(h))}</th>" for h in header) + "</tr>")
    for row in rows:
        cells = []
        for i, cell in enumerate(row):
            css = ""
            if isinstance(cell, tuple):
                cell, css = cell
            elif numeric_from is not None and i >= numeric_from:
                css = "num"
            cells.append(f"<td class='{css}'>{escape(str(cell))}</td>" if css else f"<td>{escape(str(cell))}</td>")
        out.append("<tr>" + "".join(cells) + "</tr>")
    out.append("</table>")
    return "".join(out)


def _options(options: dict | None) -> str:
    return ", ".join(f"{k}={v}" for k, v in (options or {}).items()) or "-"


def _num(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.3f}".rstrip("0").rstrip(".") if abs(value) < 1000 else f"{value:.0f}"
    return str(value)


def _unit(unit: str) -> str:
    return f" {unit}" if unit else ""


def _short(value: Any, limit: int) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return text if len(text) <= limit else text[: limit - 3] + "..."
