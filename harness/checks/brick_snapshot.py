"""A brick's backend as its node sees it: every entry's type, content hash, AFR/EC xattrs and size.
Shared by the replica and disperse consistency checks."""
from __future__ import annotations

import json
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..volume import Brick

SETTLE_S = 10.0
SETTLE_POLL_S = 0.5

# Runs inside the node (python3 is in every gluster server image): walks the brick backend,
# skipping gluster's own .glusterfs and AFR's lazily made .glusterfs-anonymous-inode-*, and prints
# {path: [type, sha256 or None, {afr or ec xattr: hex}, size]}.
SNAPSHOT_SCRIPT = r"""
import hashlib, json, os, sys
root = sys.argv[1]
out = {}
def xattrs(p):
    found = {}
    for name in os.listxattr(p, follow_symlinks=False):
        if name.startswith(("trusted.afr.", "trusted.ec.")):
            found[name] = os.getxattr(p, name, follow_symlinks=False).hex()
    return found
for d, dirs, files in os.walk(root):
    if d == root:
        dirs[:] = [x for x in dirs if not x.startswith(".glusterfs")]
    for name in dirs + files:
        p = os.path.join(d, name)
        rel = os.path.relpath(p, root)
        if os.path.islink(p):
            out[rel] = ["l", os.readlink(p), {}, 0]
        elif os.path.isdir(p):
            out[rel] = ["d", None, xattrs(p), 0]
        else:
            h = hashlib.sha256()
            with open(p, "rb") as fh:
                for chunk in iter(lambda: fh.read(1 << 20), b""):
                    h.update(chunk)
            out[rel] = ["f", h.hexdigest(), xattrs(p), os.path.getsize(p)]
out["."] = ["d", None, xattrs(root), 0]
json.dump(out, sys.stdout)
"""


def snapshot_brick(brick: "Brick") -> dict[str, list]:
    return json.loads(brick.node.run(["python3", "-c", SNAPSHOT_SCRIPT, brick.path], timeout=300).stdout)
