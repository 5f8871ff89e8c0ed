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

from ..errors import HarnessError

if TYPE_CHECKING:
    from ..cluster import Node

STORE_VOLS = "/var/lib/glusterd/vols"
GLUSTERD_LOG = "/var/log/glusterfs/glusterd.log"
# The log lines that show the defect: the attach callback run for a request that could not be sent.
ATTACH_CBK_NULL = "glusterd_svc_attach_cbk] 0-management: iov is NULL"
ATTACHED = "attached successfully"
ADDING = "adding svc glustershd"
LOG_TIME_RE = re.compile(r"^\[(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+) \+0000\]")
EVIDENCE_LINES = 6

DROPPED_VOLUME_DEFECT = (
    "GlusterFS 10.3 glusterd defect: glusterd_shdsvc_start takes one volinfo reference per self-heal daemon "
    "attach ('Unref will happen from glusterd_svc_attach_cbk'), but when the attach request cannot be sent "
    "(the new daemon is not connected yet) rpc-clnt runs glusterd_svc_attach_cbk with no reply ('iov is NULL'), "
    "which drops the reference, glusterd_attach_svc retries, and the retry's callback drops it again: the count "
    "reaches 0 and glusterd_volinfo_delete unlinks the volume from glusterd's memory (its store on disk is "
    "intact). That glusterd answers 'Volume VOL does not exist' until it is restarted")

BRICK_PORT_LOST_DEFECT = (
    "GlusterFS 10.3 glusterd defect: when server quorum returns, glusterd starts a node's brick twice within "
    "milliseconds (glusterd_do_volume_quorum_action, and the brick restart of the peer handshake); the second "
    "glusterfsd fails 'pidfile lock failed', glusterd logs 'Unable to start brick', and the brick left running has "
    "no port in glusterd's portmap: `volume status` shows it online with port N/A, and no client or self-heal "
    "daemon can connect to it (ENOTCONN) until it is restarted")

SHD_ATTACH_GIVEN_UP_DEFECT = (
    "GlusterFS glusterd defect (10.3 and 11.1): a restarted glusterd attaches each volume to its self-heal daemon; "
    "while the daemon is not connected it retries once a second and gives up after 15 tries ('attach failed "
    "for glustershd(volume=VOL)'), or the reply is lost ('forced unwinding', then 'iov is NULL') and nothing "
    "retries: the node then runs no self-heal daemon for that volume, and glusterd never tries again, until "
    "the volume is started again")


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


def lines_since(text: str, since: float) -> list[str]:
    """The log lines of `text` stamped at or after `since` (epoch seconds)."""
    return [ln.strip() for ln in text.splitlines() if (t := _log_time(ln)) is not None and t >= since]


def _grep_log(node: "Node", patterns: Sequence[str], since: float) -> list[str]:
    argv = ["grep", "-F", *(x for p in patterns for x in ("-e", p)), GLUSTERD_LOG]
    return lines_since(node.run(argv, timeout=30, check=False).stdout, since)


def _dropped_patterns(volumes: Sequence[str]) -> list[str]:
    return [ATTACH_CBK_NULL, ADDING, *(f"of volume {v} {ATTACHED}" for v in volumes)]


def dropped_evidence(lines: Sequence[str], volumes: Sequence[str]) -> tuple[str, ...]:
    """From a glusterd's log lines: those that show DROPPED_VOLUME_DEFECT for `volumes` (the attach
    of one of them begun, its callback run without a reply, 'iov is NULL', then a successful attach);
    () if there is none. The callback's line does not name the volume: the attach begun before it does."""
    evidence: list[str] = []
    attaching = None
    for line in lines:
        if ADDING in line:
            attaching = next((v for v in volumes if f"{ADDING} (volume={v})" in line), None)
            if attaching:
                evidence.append(line)
        elif ATTACH_CBK_NULL in line and attaching:
            evidence.append(line)
        elif any(f"of volume {v} {ATTACHED}" in line for v in volumes):
            evidence.append(line)
    if not any(ATTACH_CBK_NULL in ln for ln in evidence):
        return ()
    return tuple(evidence[-EVIDENCE_LINES:])


def defect_evidence(node: "Node", volumes: Sequence[str], since: float) -> tuple[str, ...]:
    """The node's glusterd log lines since `since` that show DROPPED_VOLUME_DEFECT for `volumes`."""
    return dropped_evidence(_grep_log(node, _dropped_patterns(volumes), since), volumes)


def brick_start_failures(node: "Node", brick: str, since: float) -> tuple[str, ...]:
    """The node's glusterd log lines since `since` saying it could not start `brick` (HOST:PATH)."""
    return tuple(_grep_log(node, [f"Unable to start brick {brick}"], since)[-EVIDENCE_LINES:])


@dataclass(frozen=True)
class AttachState:
    """A glusterd's self-heal daemon attaches of one volume since a time, from its log."""

    started: int  # "adding svc glustershd (volume=VOL)"
    finished: int  # attached, given up, the volume found stale, or the reply lost (no retry follows)
    gave_up: str | None  # the last line of an attach that ended without attaching

    @property
    def in_progress(self) -> bool:
        return self.started > self.finished


# An attach request that could not be sent: its callback runs at once ('iov is NULL') and
# glusterd_attach_svc retries a second later. One sent whose connection then broke: the callback
# runs from the unwinding of saved frames, and nothing retries.
SUBMIT_FAILED = "0-glustershd: failed to submit rpc-request"
UNWOUND = "0-glustershd: forced unwinding frame type(brick operations)"


def _attach_patterns(volume: str) -> tuple[str, tuple[str, ...], str]:
    begin = f"{ADDING} (volume={volume})"
    ends = (f"svc glustershd of volume {volume} {ATTACHED}", f"Volume {volume}  is marked as stale")
    return begin, ends, f"attach failed for glustershd(volume={volume})"


def attach_counts(lines: Sequence[str], volume: str) -> AttachState:
    """From a glusterd's log lines: the attaches of `volume` to the self-heal daemon begun and ended."""
    begin, ends, failed = _attach_patterns(volume)
    started = finished = 0
    gave_up = None
    attaching = unwound = False
    for line in lines:
        if ADDING in line:
            attaching, unwound = begin in line, False
            started += begin in line
        elif UNWOUND in line:
            unwound = attaching
        elif ATTACH_CBK_NULL in line and unwound:
            finished, gave_up, attaching, unwound = finished + 1, line, False, False
        elif failed in line:
            finished, gave_up, attaching = finished + 1, line, False
        elif any(e in line for e in ends):
            finished, attaching = finished + 1, False
    return AttachState(started, finished, gave_up)


def attach_state(node: "Node", volume: str, since: float) -> AttachState:
    """The node's attaches of `volume` since `since`: one still retrying (a second apart, 15 times)
    may yet drop the volume (DROPPED_VOLUME_DEFECT)."""
    begin, ends, failed = _attach_patterns(volume)
    return attach_counts(_grep_log(node, [ADDING, UNWOUND, ATTACH_CBK_NULL, *ends, failed], since), volume)


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
