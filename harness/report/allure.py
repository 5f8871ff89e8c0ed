"""Allure attachments through allure-pytest's own API (`allure.attach.file`, `allure.global_attach`).

Per test: when it fails, the gluster logs of the cluster's nodes (LocalNode.dir/log) and every
volume's heal state, attached right away (a session's last test tears the cluster down before its
own teardown report); at the end of its teardown, the plots of the scenarios it recorded and
every file its workload records name (fio JSON, locust CSV, latency series).
Per run: summary.json and report.html as global attachments.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Iterable

from ..errors import HarnessError
from . import plots
from .summary import build_summary

if TYPE_CHECKING:
    from ..cluster import Cluster

log = logging.getLogger("harness.report")

LOG_TAIL_BYTES = 512 * 1024
MAX_TOOL_FILE_BYTES = 20 * 1024 * 1024  # a brick log can grow large; the end is what explains a failure
HEAL_STATE_TIMEOUT_S = 30.0
TYPES = {".png": "PNG", ".json": "JSON", ".csv": "CSV", ".html": "HTML", ".log": "TEXT", ".jsonl": "TEXT",
         ".txt": "TEXT"}


@dataclass(frozen=True)
class Attachment:
    path: Path | None
    name: str
    type: str  # allure AttachmentType member name
    body: bytes | None = None  # instead of path: e.g. the tail of a large log


def test_files(run_path: Path, nodeid: str) -> list[Attachment]:
    """What to attach to one test at its end: the plots of its scenarios and its workload files."""
    out: list[Attachment] = []
    summary = build_summary(run_path, run_id=run_path.name, provider="", profile="", started=None)
    mine = [w for w in summary["workloads"] if w["test"] == nodeid]
    scenarios = sorted({w["scenario"] for w in mine} | {h["scenario"] for h in summary["heal"] if h["test"] == nodeid})
    plot_dir = run_path / plots.PLOTS_DIR
    plot_dir.mkdir(exist_ok=True)
    for scenario in scenarios:
        for plot in (plots.latency_timeline(summary, run_path, scenario, plot_dir),
                     plots.heal_curve(summary, scenario, plot_dir)):
            if plot is not None:
                out.append(Attachment(plot.path, plot.title, "PNG"))
    seen: set[Path] = set()
    for w in mine:
        files = dict(w["files"])
        if w["series_file"]:
            files["series_file"] = w["series_file"]
        folders = []
        for key, rel in sorted(files.items()):
            path = run_path / rel
            if path.is_file() and path not in seen:
                seen.add(path)
                out.append(Attachment(path, f"{w['name']} {key}: {path.name}", _type(path)))
            folders.append(path if path.is_dir() else path.parent)
        # the workload's result folders: fio JSON and locust CSV written beside its series
        for folder in dict.fromkeys(f for f in folders if f.is_dir() and f != run_path):
            for path in sorted(folder.rglob("*")):
                if path.suffix in (".json", ".csv") and path.is_file() and path not in seen \
                        and path.stat().st_size <= MAX_TOOL_FILE_BYTES:
                    seen.add(path)
                    out.append(Attachment(path, f"{w['name']}: {path.relative_to(folder)}", _type(path)))
    return out


def node_logs(cluster: "Cluster") -> list[Attachment]:
    """The end of every gluster log of every node (read inside the node on every provider); a node
    that cannot be read (down, its pod restarting) is named instead."""
    out = []
    for node in cluster.nodes:
        try:
            tails = node.log_tails(LOG_TAIL_BYTES)
        except HarnessError as exc:
            out.append(Attachment(None, f"{node.name}: logs-unreadable.txt", "TEXT", str(exc).encode()))
            continue
        out += [Attachment(None, f"{node.name}: {name}", "TEXT", body) for name, body in tails.items()]
    return out


def heal_state(cluster: "Cluster") -> list[Attachment]:
    """`heal info` and the self-heal daemons' crawl history (`heal statistics`, text only) of every
    volume, asked of the first node: a heal that stalled shows whether the daemons crawled again and
    how many entries each crawl failed, which no log says at the default log level."""
    if not cluster.nodes:
        return []
    node = cluster.nodes[0]
    try:
        volumes = node.gluster.volume_names()
    except HarnessError:
        return []
    out = []
    for volume in volumes:
        for what in ("info", "statistics"):
            try:
                result = node.run(["gluster", "--mode=script", "volume", "heal", volume, what],
                                  timeout=HEAL_STATE_TIMEOUT_S, check=False)
                text = result.stdout + result.stderr
            except HarnessError as exc:  # glusterd hung or gone: say so in the file itself
                text = f"no answer: {exc}\n"
            out.append(Attachment(None, f"{node.name}: heal/{volume}-{what}.txt", "TEXT", text.encode()))
    return out


def attach(attachments: Iterable[Attachment]) -> int:
    """Attach to the current allure test; returns how many were attached."""
    import allure

    count = 0
    for a in attachments:
        kind = getattr(allure.attachment_type, a.type)
        if a.body is not None:
            allure.attach(a.body, name=a.name, attachment_type=kind)
        else:
            allure.attach.file(str(a.path), name=a.name, attachment_type=kind)
        count += 1
    return count


def attach_run(paths: Iterable[Path]) -> None:
    """Global (run-level) attachments: summary.json, report.html."""
    import allure

    for path in paths:
        if path.is_file():
            allure.global_attach.file(str(path), name=path.name, attachment_type=getattr(allure.attachment_type, _type(path)))


def _type(path: Path) -> str:
    return TYPES.get(path.suffix, "TEXT")


