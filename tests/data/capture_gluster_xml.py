"""Recapture the real gluster --xml outputs the parser tests read: `python tests/data/capture_gluster_xml.py`.

Brings up a local cluster, produces each state (all up, a brick killed, a split brain), saves the
CLI's XML verbatim under tests/data/gluster-xml/, and tears the cluster down.
"""
from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from harness.providers.local import LocalProvider  # noqa: E402
from harness.volume import VolumeSpec, VolumeType, create_volume  # noqa: E402
from harness.health import wait_self_heal_connected  # noqa: E402
from harness.waiting import wait_for  # noqa: E402

OUT = Path(__file__).parent / "gluster-xml"


def save(name: str, node, *args: str) -> None:
    result = node.run(["gluster", "--mode=script", *args, "--xml"], check=False)
    (OUT / f"{name}.xml").write_text(result.stdout)


def main() -> None:
    cluster = LocalProvider(nodes=3, zones=3, clients=1).up()
    try:
        n1 = cluster.nodes[0]
        save("peer-status", n1, "peer", "status")
        r3 = create_volume(cluster, VolumeSpec(VolumeType.REPLICA3), "r3")
        # Just started: node1's self-heal daemon has not yet reached the other nodes' bricks (it
        # retries every 3 s). Captured on glh1 (198.18.1.0/24) with another cluster up.
        save("volume-status-r3-clients-starting", n1, "volume", "status", "r3", "clients")
        save("volume-status-r3-shd-starting", n1, "volume", "status", "r3")
        wait_self_heal_connected(r3, timeout=30, via=n1)
        save("volume-status-r3-clients", n1, "volume", "status", "r3", "clients")
        create_volume(cluster, VolumeSpec(VolumeType.ARBITER), "arb")
        create_volume(cluster, VolumeSpec(VolumeType.DISPERSE), "ec")
        create_volume(cluster, VolumeSpec(VolumeType.DISTRIBUTED_REPLICATE), "dr")
        save("volume-info-all", n1, "volume", "info", "all")
        save("volume-status-r3", n1, "volume", "status", "r3")
        save("heal-summary-r3", n1, "volume", "heal", "r3", "info", "summary")
        # A killed brick: its row goes offline and heal info answers "-" for it.
        brick_pid = next(b.pid for b in r3.status().bricks if b.hostname == cluster.nodes[2].address)
        os.kill(brick_pid, signal.SIGKILL)
        wait_for(lambda: not r3.status().all_bricks_online, timeout=10, what="brick offline")
        save("volume-status-r3-brick-down", n1, "volume", "status", "r3")
        save("heal-summary-r3-brick-down", n1, "volume", "heal", "r3", "info", "summary")
        save("heal-split-brain-r3-none", n1, "volume", "heal", "r3", "info", "split-brain")
        save("volume-create-error", n1, "volume", "create", "r3", "replica", "3", "1.2.3.4:/x", "force")
    finally:
        cluster.down()


if __name__ == "__main__":
    main()
