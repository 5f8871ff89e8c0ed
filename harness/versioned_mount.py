"""FUSE clients of another GlusterFS version than the host's (an upgraded client host): each runs
in its own mount namespace with that version's files bound over the installed ones."""
from __future__ import annotations

import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from .gluster import versions
from .errors import ConfigError
from .mount import FuseMount, glusterfs_command
from .providers.host.netns import kill_pids
from .providers.host.proc import Proc, daemon_pid
from .runner import run
from .waiting import wait_for

if TYPE_CHECKING:
    from .providers.local import LocalClient, LocalCluster
    from .volume import Volume


@dataclass(eq=False)
class VersionedMount(FuseMount):
    """A FUSE mount made by a client of another GlusterFS version: the client runs in its own
    mount namespace (inside the client host's network namespace) with that version's files bound
    over the installed ones, so its mount lives in that namespace only. The test process reaches
    it through the client process's root (/proc/PID/root/...); `inner` is the path inside."""

    inner: Path = field(default_factory=Path)
    version: str = ""

    def unmount(self) -> None:
        pid = daemon_pid(self.pid_file)
        client = Proc.of(pid) if pid else None
        if client and client.alive():
            # The namespace goes with its last process; unmount first so the client exits cleanly.
            run(["nsenter", "-t", str(pid), "-m", "umount", str(self.inner)], timeout=30, check=False)
            kill_pids([client.pid])  # gone already after a clean umount; else it must not linger


def mount_version(cluster: "LocalCluster", volume: "Volume", client: "LocalClient", version: str) -> VersionedMount:
    """Mount `volume` from `client` with a GlusterFS `version` client (an upgraded client host of
    the local provider: Capability.GLUSTER_VERSIONS)."""
    root = versions.require(version)
    if root is None:
        raise ConfigError(f"{version} is the installed version: mount with cluster.mount()")
    seq = len(list((cluster.root / "mnt" / client.name).glob(f"{volume.name}-v*"))) + 1
    inner = cluster.root / "mnt" / client.name / f"{volume.name}-v{version}-{seq}"
    inner.mkdir(parents=True)
    logs = cluster.root / "clientlogs"
    logs.mkdir(parents=True, exist_ok=True)
    stem = f"{client.name}-{inner.name}"  # one pid file per client process: glusterfs locks it
    pid_file, log_file = logs / f"{stem}.pid", logs / f"{stem}.log"
    script = (versions.swap_script(None, (version, root), None) + "\n"
              f"exec {shlex.join(glusterfs_command(volume, inner, pid_file, log_file))}")
    namespace = client.namespace
    run(["nsenter", f"--net=/run/netns/{namespace}", "unshare", "-m", "--propagation", "private", "sh", "-c", script],
        timeout=60, where=client.name)
    pid = wait_for(lambda: daemon_pid(pid_file), timeout=30, interval=0.05,
                   what=f"the {version} client of {volume.name} on {client.name} to write its pid file")
    mount = VersionedMount(client, volume, Path(f"/proc/{pid}/root{inner}"), pid_file, log_file, inner, version)
    cluster.mounts.append(mount)  # unmounted with the cluster
    try:
        mount.wait_children_up()
    except BaseException:
        mount.unmount()
        raise
    return mount
