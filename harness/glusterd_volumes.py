"""Whether every glusterd knows every volume of the cluster, and GlusterFS 10.3's defect that makes
a restarted glusterd forget one.

A glusterd restarted while its peers run (a killed pod, SQ1's revert) re-attaches each volume to its
new self-heal daemon. In GlusterFS 10.3 that can drop the volume from that glusterd's memory while
its store on disk keeps it (DROPPED_VOLUME_DEFECT); the node then answers "Volume VOL does not
exist" to every operation its peers start (`volume status`, `stop`, `delete`) until it restarts.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Sequence

from .errors import HarnessError

if TYPE_CHECKING:
    from .cluster import Node

STORE_VOLS = "/var/lib/glusterd/vols"
GLUSTERD_LOG = "/var/log/glusterfs/glusterd.log"
# The log lines that show the defect: the attach callback run for a request that could not be sent.
ATTACH_CBK_NULL = "glusterd_svc_attach_cbk] 0-management: iov is NULL"
ATTACHED = "attached successfully"
LOG_TIME_RE = re.compile(r"^\[(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+) \+0000\]")
EVIDENCE_LINES = 6

DROPPED_VOLUME_DEFECT = (
    "GlusterFS 10.3 glusterd defect: glusterd_shdsvc_start takes one volinfo reference per self-heal daemon "
    "attach ('Unref will happen from glusterd_svc_attach_cbk'), but when the attach request cannot be sent "
    "(the new daemon is not connected yet) rpc-clnt runs glusterd_svc_attach_cbk with no reply ('iov is NULL'), "
    "which drops the reference, glusterd_attach_svc retries, and the retry's callback drops it again: the count "
    "reaches 0 and glusterd_volinfo_delete unlinks the volume from glusterd's memory (its store on disk is "
    "intact). That glusterd answers 'Volume VOL does not exist' until it is restarted")


@dataclass(frozen=True)
class DroppedVolumes:
    """Volumes a node's glusterd has in its store but not in memory, with the defect's log lines."""

    node: str
    volumes: tuple[str, ...]
    evidence: tuple[str, ...]  # empty: not (yet) the defect, e.g. a volume import still in progress

    @property
    def is_defect(self) -> bool:
        return bool(self.evidence)

    def describe(self) -> str:
        lines = "; ".join(self.evidence) or "no defect lines in its log"
        return f"{self.node}: glusterd lost {', '.join(self.volumes)} from memory (in its store); {lines}"


def stored_volumes(node: "Node") -> set[str]:
    """The volumes in the node's glusterd store (`/var/lib/glusterd/vols`)."""
    result = node.run(["ls", "-1", STORE_VOLS], timeout=30, check=False)
    return set(result.stdout.split()) if result.ok else set()


def known_volumes(node: "Node") -> set[str] | None:
    """The volumes the node's glusterd has in memory (`volume list` is answered locally); None when
    its CLI does not answer."""
    try:
        return set(node.gluster.volume_names())
    except HarnessError:
        return None


def _log_time(line: str) -> float | None:
    match = LOG_TIME_RE.match(line)
    if not match:
        return None
    stamp = datetime.strptime(match.group(1)[:26], "%Y-%m-%d %H:%M:%S.%f")
    return stamp.replace(tzinfo=timezone.utc).timestamp()


def defect_evidence(node: "Node", volumes: Sequence[str], since: float) -> tuple[str, ...]:
    """The node's glusterd log lines since `since` (epoch seconds) that show the defect: a failed
    attach callback ('iov is NULL') and the later successful attach of a volume it then lost."""
    patterns = [ATTACH_CBK_NULL, *(f"of volume {v} {ATTACHED}" for v in volumes)]
    argv = ["grep", "-F", *(x for p in patterns for x in ("-e", p)), GLUSTERD_LOG]
    result = node.run(argv, timeout=30, check=False)
    lines = [ln.strip() for ln in result.stdout.splitlines() if (t := _log_time(ln)) is not None and t >= since]
    if not any(ATTACH_CBK_NULL in ln for ln in lines):
        return ()
    return tuple(lines[-EVIDENCE_LINES:])


def attach_given_up(node: "Node", volume: str, since: float) -> str | None:
    """The log line saying the node's glusterd gave up attaching `volume` to its self-heal daemon
    (15 attempts, one a second) since `since`; None if it did not."""
    pattern = f"attach failed for glustershd(volume={volume})"
    result = node.run(["grep", "-F", "-e", pattern, GLUSTERD_LOG], timeout=30, check=False)
    lines = [ln.strip() for ln in result.stdout.splitlines() if (t := _log_time(ln)) is not None and t >= since]
    return lines[-1] if lines else None


def dropped_volumes(nodes: "Sequence[Node]", since: float) -> list[DroppedVolumes]:
    """Per node, the stored volumes its glusterd does not know (a node whose CLI does not answer is
    left out: it is not known yet)."""
    found = []
    for node in nodes:
        known = known_volumes(node)
        if known is None:
            continue
        missing = tuple(sorted(stored_volumes(node) - known))
        if missing:
            found.append(DroppedVolumes(node.name, missing, defect_evidence(node, missing, since)))
    return found
