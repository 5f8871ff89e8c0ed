"""Block access the gluster-block way: a file on the volume attached as a loop device.

`--direct-io=on` matters: without it the loop device serves reads from the page cache and fio
measures memory (several GB/s), not the volume.
"""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

from ..cluster import ClientHost
from ..errors import ConfigError, HarnessError
from ..mount import FuseMount, is_mounted
from .fio import parse_size

log = logging.getLogger("harness.block")
CHUNK = 1 << 20


@dataclass(eq=False)
class LoopDevice:
    client: ClientHost
    backing: Path
    device: str

    def __enter__(self) -> "LoopDevice":
        return self

    def __exit__(self, *exc: object) -> None:
        self.detach()

    def attached(self) -> bool:
        return any(d["name"] == self.device and d.get("back-file") == str(self.backing) for d in _loops(self.client))

    def detach(self) -> None:
        """Detach the loop device (the backing file stays on the volume). Idempotent."""
        if self.attached():
            self.client.run(["losetup", "--detach", self.device], timeout=30)


def _loops(client: ClientHost) -> list[dict]:
    out = client.run(["losetup", "--json", "--list", "--output", "NAME,BACK-FILE,DIO"], timeout=15).stdout
    return json.loads(out).get("loopdevices", []) if out.strip() else []


def attach_loop(client: ClientHost, mount: FuseMount, size: str = "64M", name: str = "block.img") -> LoopDevice:
    """Write a `size` backing file of zeros on the mount (real data, so reads reach the bricks),
    attach it with direct I/O and return the device; HarnessError if direct I/O did not take."""
    nbytes = parse_size(size)
    if not is_mounted(mount.path):
        raise ConfigError(f"{mount.path} is not mounted; mount the volume before attaching a block device")
    backing = mount.path / name
    if backing.exists():
        raise ConfigError(f"{backing} already exists; choose another name for the block device's backing file")
    with open(backing, "wb") as fh:
        zeros = bytes(CHUNK)
        for offset in range(0, nbytes, CHUNK):
            fh.write(zeros[: min(CHUNK, nbytes - offset)])
    device = client.run(["losetup", "--direct-io=on", "--find", "--show", str(backing)], timeout=30).stdout.strip()
    loop = LoopDevice(client, backing, device)
    info = next((d for d in _loops(client) if d["name"] == device), None)
    if not info or str(info.get("dio")) not in ("1", "True", "true"):
        loop.detach()
        raise HarnessError(f"loop device {device} over {backing} did not get direct I/O (losetup says {info}); "
                           f"the volume's FUSE mount must support O_DIRECT")
    log.info("attached %s over %s (%s, direct I/O)", device, backing, size)
    return loop
