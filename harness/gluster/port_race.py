"""gluster/glusterfs#1101: glusterd can give two bricks that start at the same moment on one node the
same port. The second brick's bind fails with EADDRINUSE, it exits, and its volume's start fails
"Commit failed on localhost". Seen in the provisioning storm, which starts volumes concurrently: two
volume starts on node1 within a millisecond, both bricks given one port.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Iterable

if TYPE_CHECKING:
    from ..cluster import Node

ISSUE_1101 = ("gluster/glusterfs#1101 (brick port allocation race): glusterd gave a brick a port another brick "
              "starting at the same moment was given, its bind failed (Address already in use) and the volume "
              "start failed")
BIND_FAILED = "failed: Address already in use"
LOG_TAIL_BYTES = 256 << 10


def _brick_log_fragment(volume: str) -> str:
    """What the name of a brick log of `volume` holds: its brick path has slashes as dashes, e.g.
    bricks/var-tmp-glusterharness-glh1-node1-bricks-storm-00001-b0.log."""
    return f"-{volume}-b"


def port_race_evidence(nodes: Iterable["Node"], volume: str) -> list[str]:
    """Lines of `volume`'s brick logs that show the failed bind, each naming its node and log; empty
    when no brick of the volume hit the race (or its logs cannot be read)."""
    found = []
    for node in nodes:
        for name, tail in node.log_tails(LOG_TAIL_BYTES).items():
            if not (name.startswith("bricks/") and _brick_log_fragment(volume) in name):
                continue
            found += [f"{node.name} {name}: {line.strip()}" for line in tail.decode(errors="replace").splitlines()
                      if BIND_FAILED in line]
    return found
