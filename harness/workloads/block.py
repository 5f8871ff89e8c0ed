"""Block access the gluster-block way: a file on the volume attached as a loop device in the mount's
client host (a client namespace here, a privileged client pod on Kubernetes), the backing file
written through the mount's file API there.

`--direct-io=on` matters: without it the loop device serves reads from the page cache and fio
measures memory (several GB/s), not the volume.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import PurePosixPath

from ..cluster import ClientHost
from ..errors import ConfigError, HarnessError
from ..mount import FuseMount, loop_devices
from .fio import FileTarget, parse_size

log = logging.getLogger("harness.block")


@dataclass(eq=False)
class LoopDevice:
    client: ClientHost
    backing: str  # the backing file's path in the client
    device: str

    def __enter__(self) -> "LoopDevice":
        return self

    def __exit__(self, *exc: object) -> None:
        self.detach()

    def attached(self) -> bool:
        return any(d["name"] == self.device and d.get("back-file") == str(self.backing) for d in loop_devices(self.client))

    def detach(self) -> None:
        """Detach the loop device (the backing file stays on the volume). Idempotent."""
        if self.attached():
            self.client.run(["losetup", "--detach", self.device], timeout=30)


def attach_loop(client: ClientHost, mount: FuseMount, size: str = "64M", name: str = "block.img") -> LoopDevice:
    """Write a `size` backing file of zeros on the mount (real data, so reads reach the bricks),
    attach it with direct I/O in the mount's client and return the device; HarnessError if direct
    I/O did not take."""
    nbytes = parse_size(size)
    FileTarget(mount, name).check(client)  # the mount's own client, and a glusterfs mount there
    backing = str(PurePosixPath(mount.path) / name)
    try:
        mount.files.stat(name)
    except FileNotFoundError:
        pass
    else:
        raise ConfigError(f"{backing} already exists in client {client.name}; choose another name for the block "
                          f"device's backing file")
    mount.files.write(name, bytes(nbytes))
    device = client.run(["losetup", "--direct-io=on", "--find", "--show", backing], timeout=30).stdout.strip()
    loop = LoopDevice(client, backing, device)
    info = next((d for d in loop_devices(client) if d["name"] == device), None)
    if not info or str(info.get("dio")) not in ("1", "True", "true"):
        loop.detach()
        raise HarnessError(f"loop device {device} over {backing} did not get direct I/O (losetup says {info}); "
                           f"the volume's FUSE mount must support O_DIRECT")
    log.info("attached %s over %s in client %s (%s, direct I/O)", device, backing, client.name, size)
    return loop
