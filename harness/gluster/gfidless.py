"""Names a brick holds without a gfid, in the directories heal info lists as pending.

A brick killed between creating a file and setting its `trusted.gfid` leaves such a name behind.
GlusterFS 10.3's entry self-heal then fails to remove it (its lookup by the null gfid returns
EINVAL) and retries forever, so the directory never leaves `heal info`: a known defect, not a
harness race. `tests/cluster/test_checks.py` reproduces it.
"""
from __future__ import annotations

import json
from typing import TYPE_CHECKING, Sequence

from ..errors import HarnessError

if TYPE_CHECKING:
    from .xml import HealEntriesBrick
    from ..volume import Volume

KNOWN_DEFECT = "known GlusterFS defect (gluster/glusterfs#3608, #848)"

# Runs inside the node. argv: brick root, JSON list of heal-info entries ("/dir" or "<gfid:...>").
# A directory's handle under .glusterfs is a symlink to its parent's handle plus its name, so a
# gfid entry resolves only for directories, the only entries that hold names to heal.
SCAN_SCRIPT = r"""
import errno, json, os, sys
root, entries = sys.argv[1], json.loads(sys.argv[2])
found = set()
for entry in entries:
    if entry.startswith("<gfid:"):
        g = entry[6:-1]
        handle = os.path.join(root, ".glusterfs", g[:2], g[2:4], g)
        if not os.path.islink(handle):
            continue
        d = os.path.realpath(handle)
    else:
        d = os.path.join(root, entry.lstrip("/"))
    if os.path.islink(d) or not os.path.isdir(d):
        continue
    for name in os.listdir(d):
        if d.rstrip("/") == root.rstrip("/") and name.startswith(".glusterfs"):
            continue
        p = os.path.join(d, name)
        try:
            os.getxattr(p, "trusted.gfid", follow_symlinks=False)
        except OSError as exc:
            if exc.errno == errno.ENODATA:
                found.add(os.path.relpath(p, root))
json.dump(sorted(found), sys.stdout)
"""


def names_without_gfid(volume: "Volume", pending: "Sequence[HealEntriesBrick]") -> dict[str, list[str]]:
    """{brick name: paths relative to the brick} of entries lacking trusted.gfid, looked for on
    every brick in every directory some brick lists as pending. A brick that cannot be read is left out."""
    entries = sorted({e for b in pending for e in b.entries})
    if not entries:
        return {}
    found = {}
    for brick in volume.bricks:
        try:
            result = brick.node.run(["python3", "-c", SCAN_SCRIPT, brick.path, json.dumps(entries)], timeout=60)
            names = json.loads(result.stdout)
        except (HarnessError, ValueError):
            continue
        if names:
            found[brick.name] = names
    return found


def describe_blocked_heal(found: dict[str, list[str]]) -> str:
    """What a heal timeout reports instead of the generic hints when this defect is what blocks it."""
    where = "; ".join(f"{brick}: {', '.join(names)}" for brick, names in found.items())
    return (f"{KNOWN_DEFECT}: entry self-heal cannot remove a name a brick holds without a gfid, the trace of a "
            f"brick killed between creating a file and setting its gfid, so its directory stays pending "
            f"({where}); removing those names from that brick's backend lets the heal finish")

