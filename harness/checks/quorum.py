"""Client quorum (AFR, per replica set) and server quorum (glusterd, per node) as observed state."""
from __future__ import annotations

import re
from typing import TYPE_CHECKING, Sequence

from ..errors import HarnessError
from ..results import CheckResult

if TYPE_CHECKING:
    from ..cluster import Node
    from ..mount import FuseMount
    from ..volume import Volume

QUORUM_TYPE_RE = re.compile(r"^quorum-type\s*=\s*(\S+)", re.MULTILINE)


def client_quorum_met(child_up: Sequence[bool], quorum_type: str, quorum_count: int = 0) -> bool:
    """AFR's rule (afr_has_quorum): `auto` needs more than half up, or exactly half including the
    first child; `fixed` needs quorum_count up; `none` needs any child up."""
    up, n = sum(child_up), len(child_up)
    if quorum_type == "fixed":
        return up >= quorum_count
    if quorum_type == "auto":
        return up * 2 > n or (up * 2 == n and bool(child_up and child_up[0]))
    return up > 0


def check_client_quorum(mount: "FuseMount", expect_met: bool) -> CheckResult:
    """Reads each replica set's child_up and quorum settings from the client's .meta and applies AFR's rule."""
    volume = mount.volume
    quorum_count = int(volume.cluster.gluster.volume_get(volume.name, "cluster.quorum-count") or 0)
    sets = mount.children_up()
    if sets is None:
        return CheckResult("client quorum", None, "client .meta not readable", _word(expect_met),
                           {"mount": str(mount.path)})
    states = []
    for i, child_up in enumerate(sets):
        text = (mount.path / ".meta/graphs/active" / f"{volume.name}-replicate-{i}" / "private").read_text()
        match = QUORUM_TYPE_RE.search(text)
        quorum_type = match.group(1) if match else "none"
        states.append({"set": i, "child_up": child_up, "quorum_type": quorum_type,
                       "met": client_quorum_met(child_up, quorum_type, quorum_count)})
    met = all(s["met"] for s in states)
    return CheckResult("client quorum", met == expect_met, _word(met), _word(expect_met),
                       {"volume": volume.name, "sets": states, "quorum_count": quorum_count})


def _word(met: bool) -> str:
    return "quorum met" if met else "quorum lost"


def check_server_quorum(volume: "Volume", node: "Node", expect_bricks_online: bool) -> CheckResult:
    """Server quorum seen from `node`: its glusterd kills its own bricks when it loses quorum."""
    try:
        status = volume.status(via=node)
    except HarnessError as exc:
        return CheckResult("server quorum", None, f"volume status on {node.name} failed: {exc}",
                           _bricks_word(expect_bricks_online), {"node": node.name})
    own = [b for b in status.bricks if b.hostname == node.address]
    online = bool(own) and all(b.online for b in own)
    return CheckResult("server quorum", online == expect_bricks_online, _bricks_word(online),
                       _bricks_word(expect_bricks_online),
                       {"node": node.name, "bricks": {b.name: b.online for b in own}})


def _bricks_word(online: bool) -> str:
    return f"node's bricks {'online' if online else 'offline'}"
