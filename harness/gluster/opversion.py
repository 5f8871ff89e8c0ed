"""The cluster's operating version (cluster.op-version): read it, bump it, the op-versions of the
connected clients, and the highest op-version a GlusterFS version can run.

A glusterd refuses to start when its stored cluster.op-version is above its own maximum
(GD_OP_VERSION_MAX: "wrong op-version (110000) retrieved"), so once the op-version was raised no
node can go back to a version below it. That maximum is read from the version's own binaries: a
throwaway glusterd of that version, alone in fresh namespaces (no network but loopback, empty
state and logs on tmpfs, its own pid namespace so nothing outlives it), answers
`volume get all cluster.max-op-version`; a pool of one reports its own maximum.
"""
from __future__ import annotations

import functools
from typing import TYPE_CHECKING

from . import versions
from ..errors import HarnessError
from .cli import GlusterError
from .xml import XMLShapeError, parse_root
from ..providers.host.netns import GSYNCD_ABSENT, GSYNCD_PATHS
from ..runner import run

if TYPE_CHECKING:
    from ..cluster import Node

PROBE_TIMEOUT_S = 60.0
PROBE_ATTEMPTS = 300  # 0.1 s apart: the CLI asked before glusterd listens fails at once


def client_op_versions(node: "Node", volume: str) -> dict[str, int]:
    """Each client address connected to the volume's bricks -> its op-version (`volume status VOL
    clients`; a brick's own glusterd-side clients, shd and others, included)."""
    root = node.gluster.xml("volume", "status", volume, "clients")
    found: dict[str, int] = {}
    for client in root.findall("volStatus/volumes/volume/node/clientsStatus/client"):
        address = (client.findtext("hostname") or "").rsplit(":", 1)[0]
        op = (client.findtext("opVersion") or "").strip()
        if address and op.isdigit():
            found[address] = int(op)
    return found


def op_versions(node: "Node") -> tuple[int, int]:
    """(cluster.op-version, cluster.max-op-version) as `node` sees them."""
    return (int(node.gluster.volume_get("all", "cluster.op-version")),
            int(node.gluster.volume_get("all", "cluster.max-op-version")))


def bump_op_version(node: "Node", op_version: int) -> str | None:
    """Try `volume set all cluster.op-version N`; None when accepted, else gluster's refusal."""
    try:
        node.gluster.xml("volume", "set", "all", "cluster.op-version", str(op_version))
    except GlusterError as exc:
        return exc.errstr or str(exc)
    return None


def probe_script(version: str) -> str:
    """Shell run as pid 1 of fresh net, mount and pid namespaces: swap in `version`, start a
    glusterd on empty state, print its `volume get all cluster.max-op-version --xml`."""
    root = versions.require(version)
    swap = versions.swap_script(None, (version, root), None) if root is not None else "set -e"
    # Without gsyncd glusterd starts in a fraction of a second (see netns.start_holder).
    return f"""{swap}
for d in /var/lib/glusterd /var/log/glusterfs /run; do mount -t tmpfs tmpfs $d; done
mkdir -p /run/gluster
printf '%s' '{GSYNCD_ABSENT}' > /run/gsyncd-absent && chmod 755 /run/gsyncd-absent
for f in {' '.join(GSYNCD_PATHS)}; do if [ -e $f ]; then mount --bind /run/gsyncd-absent $f; fi; done
ip link set lo up
glusterd -N &
i=0
while [ $i -lt {PROBE_ATTEMPTS} ]; do
  if out=$(gluster --mode=script volume get all cluster.max-op-version --xml 2>&1); then echo "$out"; exit 0; fi
  i=$((i+1)); sleep 0.1
done
echo "$out"; tail -n 20 /var/log/glusterfs/glusterd.log >&2; exit 1
"""


@functools.lru_cache(maxsize=None)
def max_op_version(version: str) -> int:
    """The highest cluster.op-version GlusterFS `version` runs (its GD_OP_VERSION_MAX), read from
    a throwaway glusterd of that version. --kill-child: the glusterd dies with the script."""
    argv = ["unshare", "--net", "--mount", "--pid", "--fork", "--kill-child", "--mount-proc", "--propagation",
            "private", "sh", "-c", probe_script(version)]
    result = run(argv, timeout=PROBE_TIMEOUT_S, check=False)
    try:
        value = (parse_root(result.stdout).findtext("volGetopts/Opt/Value") or "").strip()
    except XMLShapeError:
        value = ""
    if not result.ok or not value.isdigit():
        raise HarnessError(f"cannot read GlusterFS {version}'s max op-version from a throwaway glusterd "
                           f"(exit {result.returncode}): {result.stdout[-300:]!r} {result.stderr[-800:]!r}")
    return int(value)
