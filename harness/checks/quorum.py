"""Client quorum (AFR, per replica set) and server quorum (glusterd, per node) as observed state."""
from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Sequence

from ..errors import HarnessError
from ..results import CheckResult
from .access import EXISTING, PROBE_DIR

if TYPE_CHECKING:
    from ..cluster import Node
    from ..mount import FuseMount
    from ..volume import Brick, Volume

QUORUM_TYPE_RE = re.compile(r"^quorum-type\s*=\s*(\S+)", re.MULTILINE)
# The paths whose changelog decides whether an arbiter set can serve the access probe.
SOURCE_PATHS = (".", PROBE_DIR, f"{PROBE_DIR}/{EXISTING}")

# Runs inside a brick's node: {path: {afr xattr: hex}} for the given paths that exist on the brick.
AFR_XATTRS_SCRIPT = r"""
import json, os, sys
root, out = sys.argv[1], {}
for rel in sys.argv[2:]:
    p = os.path.normpath(os.path.join(root, rel))
    if os.path.lexists(p):
        out[rel] = {n: os.getxattr(p, n, follow_symlinks=False).hex()
                    for n in os.listxattr(p, follow_symlinks=False) if n.startswith("trusted.afr.")}
json.dump(out, sys.stdout)
"""


def client_quorum_met(child_up: Sequence[bool], quorum_type: str, quorum_count: int = 0,
                      arbiter: int | None = None, sources: Sequence[bool] | None = None) -> bool:
    """AFR's rule (afr_has_quorum): `auto` needs more than half up, or exactly half including the
    first child; `fixed` needs quorum_count up; `none` needs any child up.

    With an arbiter (its child index) and `sources` (per child: up, and blamed by no up child's
    changelog, i.e. a good copy), AFR also needs a data child among the sources: afr_txn_arbitrate_fop
    fails the transaction with ENOTCONN when the arbiter is the only source (it holds no data), and
    a stale data child is never read from. So a stale data brick plus the arbiter is not quorum.
    """
    up, n = sum(child_up), len(child_up)
    if quorum_type == "fixed":
        met = up >= quorum_count
    elif quorum_type == "auto":
        met = up * 2 > n or (up * 2 == n and bool(child_up and child_up[0]))
    else:
        met = up > 0
    if met and arbiter is not None and sources is not None:
        met = any(good and up_ and i != arbiter for i, (good, up_) in enumerate(zip(sources, child_up)))
    return met


def good_sources(child_up: Sequence[bool], pending: Sequence[dict[int, bool] | None]) -> list[bool]:
    """Per child, whether it is a good copy: up, and no up child's changelog blames it.

    pending[i] is what child i's brick blames (child index -> non-zero pending counter), None when
    child i is down (AFR sees only the changelogs of the children that are up)."""
    blamed = {j for i, up in enumerate(child_up) if up and pending[i] for j, nonzero in pending[i].items() if nonzero}
    return [bool(up) and i not in blamed for i, up in enumerate(child_up)]


def _pending_by_path(volume: "Volume", bricks: "Sequence[Brick]", child_up: Sequence[bool],
                     paths: Sequence[str]) -> dict[str, list[dict[int, bool] | None]]:
    """Per path, per child of one replica set: the children its brick blames (None: child down)."""
    prefix = f"trusted.afr.{volume.name}-client-"
    by_path: dict[str, list[dict[int, bool] | None]] = {p: [None] * len(bricks) for p in paths}
    for k, (brick, up) in enumerate(zip(bricks, child_up)):
        if not up:
            continue
        found = json.loads(brick.node.run(["python3", "-c", AFR_XATTRS_SCRIPT, brick.path, *paths], timeout=60).stdout)
        for path in paths:
            blames: dict[int, bool] = {}
            for name, value in found.get(path, {}).items():
                if name.startswith(prefix) and name[len(prefix):].isdigit():
                    index = int(name[len(prefix):]) - bricks[0].index  # global brick index -> child index
                    if 0 <= index < len(bricks):
                        blames[index] = int(value or "0", 16) != 0
            by_path[path][k] = blames
    return by_path


def check_client_quorum(mount: "FuseMount", expect_met: bool, paths: Sequence[str] = SOURCE_PATHS) -> CheckResult:
    """Reads each replica set's child_up and quorum settings from the client's .meta and applies AFR's rule.

    For a set with an arbiter, the AFR changelogs of `paths` (relative to the volume root; the access
    probe's by default) on the up bricks decide which up children are good copies: quorum needs a
    good data child for every path, else every operation there fails ENOTCONN (see client_quorum_met).
    """
    volume = mount.volume
    quorum_count = int(volume.cluster.gluster.volume_get(volume.name, "cluster.quorum-count") or 0)
    sets = mount.children_up()
    if sets is None:
        return CheckResult("client quorum", None, "client .meta not readable", _word(expect_met),
                           {"mount": str(mount.path)})
    states = []
    for i, (child_up, bricks) in enumerate(zip(sets, volume.replica_sets())):
        text = mount.files.read(f".meta/graphs/active/{volume.name}-replicate-{i}/private", uncached=False).decode()
        match = QUORUM_TYPE_RE.search(text)
        quorum_type = match.group(1) if match else "none"
        state = {"set": i, "child_up": child_up, "quorum_type": quorum_type}
        arbiter = next((k for k, b in enumerate(bricks) if b.is_arbiter), None)
        if arbiter is None:
            state["met"] = client_quorum_met(child_up, quorum_type, quorum_count)
        else:
            pending = _pending_by_path(volume, bricks, child_up, paths)
            sources = {p: good_sources(child_up, per_child) for p, per_child in pending.items()}
            state.update(arbiter=arbiter, good_sources=sources, met=all(
                client_quorum_met(child_up, quorum_type, quorum_count, arbiter, s) for s in sources.values()))
        states.append(state)
    met = all(s["met"] for s in states)
    return CheckResult("client quorum", met == expect_met, _word(met), _word(expect_met),
                       {"volume": volume.name, "sets": states, "quorum_count": quorum_count})


def _word(met: bool) -> str:
    return "quorum met" if met else "quorum lost"


def check_server_quorum(volume: "Volume", node: "Node", expect_bricks_online: bool) -> CheckResult:
    """Server quorum seen from `node`: its glusterd kills its own bricks when it loses quorum.

    Named by the state expected, so a row composing the loss and the return keeps both apart."""
    name = f"server quorum {'held' if expect_bricks_online else 'lost'} on {node.name}"
    try:
        status = volume.status(via=node)
    except HarnessError as exc:
        return CheckResult(name, None, f"volume status on {node.name} failed: {exc}",
                           _bricks_word(expect_bricks_online), {"node": node.name})
    own = [b for b in status.bricks if b.hostname == node.address]
    online = bool(own) and all(b.online for b in own)
    return CheckResult(name, online == expect_bricks_online, _bricks_word(online),
                       _bricks_word(expect_bricks_online),
                       {"node": node.name, "bricks": {b.name: b.online for b in own}})


def _bricks_word(online: bool) -> str:
    return f"node's bricks {'online' if online else 'offline'}"


# glusterd_validate_quorum's answer, the whole of it: "Quorum not met. Volume operation not allowed."
QUORUM_REFUSAL = "Quorum not met"
PROBE_OPTION = "diagnostics.client-log-level"
NOT_A_DIR = "quorum-probe-not-a-dir"  # a regular file: a brick path under it can never be created


def check_management_refused(volume: "Volume", node: "Node") -> CheckResult:
    """Server quorum lost on `node`: its glusterd refuses management operations with the quorum
    message. Tries `volume set` (the option's own value: accepted, nothing changes), `add-brick`
    and `replace-brick` (new bricks under a regular file of the harness's root, so they can never
    be made: refused for that reason where quorum holds). Passes only when each answer is the quorum
    refusal; an accepted `volume set` is undone (reset, when the option was not set before)."""
    hosts = sorted({b.node for b in volume.bricks} | {node}, key=lambda n: n.name)
    blockers = {n.name: f"{n.brick_root}/{NOT_A_DIR}" for n in hosts}
    for n in hosts:
        n.run(["mkdir", "-p", n.brick_root], timeout=30)
        n.run(["touch", blockers[n.name]], timeout=30)
    try:
        outcomes = _management_outcomes(volume, node, blockers)
    finally:
        for n in hosts:
            n.run(["rm", "-f", blockers[n.name]], timeout=30, check=False)
    observed = {o["op"]: ("accepted" if o["accepted"] else o["message"]) for o in outcomes}
    passed = all(not o["accepted"] and QUORUM_REFUSAL in o["message"] for o in outcomes)
    return CheckResult("management refused without server quorum", passed, observed,
                       {o["op"]: f"refused: {QUORUM_REFUSAL}..." for o in outcomes},
                       {"node": node.name, "volume": volume.name, "outcomes": outcomes})


def _management_outcomes(volume: "Volume", node: "Node", blockers: dict[str, str]) -> list[dict]:
    cli = node.gluster
    first_set = volume.replica_sets()[0]
    spec = volume.spec
    count = ["replica", str(spec.set_size), *(["arbiter", "1"] if spec.type.value == "arbiter" else [])]
    new_bricks = [f"{b.node.address}:{blockers[b.node.name]}/{volume.name}-add-{k}" for k, b in enumerate(first_set)]
    source = next((b for b in volume.bricks if b.node is node), volume.bricks[0])
    value = cli.volume_get(volume.name, PROBE_OPTION) or "INFO"
    was_set = PROBE_OPTION in cli.volume_info(volume.name)[0].options
    ops = {
        "volume set": ["volume", "set", volume.name, PROBE_OPTION, value],
        "add-brick": ["volume", "add-brick", volume.name, *(count if spec.replicated else []), *new_bricks],
        "replace-brick": ["volume", "replace-brick", volume.name, source.name,
                          f"{node.address}:{blockers[node.name]}/{volume.name}-replace", "commit", "force"],
    }
    outcomes = []
    for op, args in ops.items():
        try:
            cli.xml(*args)
            outcomes.append({"op": op, "argv": args, "accepted": True, "message": ""})
        except HarnessError as exc:
            outcomes.append({"op": op, "argv": args, "accepted": False,
                             "message": getattr(exc, "errstr", "") or str(exc)})
    if outcomes[0]["accepted"] and not was_set:
        cli.volume_reset(volume.name, PROBE_OPTION)  # the same value, now explicit: drop it again
    return outcomes
