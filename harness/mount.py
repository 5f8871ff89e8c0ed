"""FUSE mounts of a volume from a client host, handed out only when every child is up."""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path, PurePath, PurePosixPath
from typing import TYPE_CHECKING, Collection, Generic, Protocol, TypeVar

from .errors import ConfigError
from .mountfiles import MountFiles
from .providers.host.netns import kill_pids
from .providers.host.proc import Proc, daemon_pid
from .runner import run
from .waiting import wait_for

if TYPE_CHECKING:
    from .control import Host
    from .volume_spec import VolumeSpec


class MountSource(Protocol):
    """What a client needs of a volume to mount it (a Volume is one); typed so, mounts need not
    import the volume or cluster modules, which import them."""

    name: str
    spec: "VolumeSpec"

    @property
    def server_addresses(self) -> list[str]: ...


V = TypeVar("V", bound=MountSource)
M = TypeVar("M", bound="FuseMount")

CHILD_UP_RE = re.compile(r"^child_up\[(\d+)\]\s*=\s*(\d+)", re.MULTILINE)
CHILDS_UP_MASK_RE = re.compile(r"^childs_up_mask\s*=\s*([01]+)", re.MULTILINE)
MOUNT_READY_TIMEOUT_S = 30.0


@dataclass(eq=False)
class FuseMount(Generic[V]):
    client: "Host"
    volume: V
    path: Path
    pid_file: Path
    log_file: Path
    left_out: frozenset[int] = field(default_factory=frozenset)  # brick indices this client never connects to

    def __fspath__(self) -> str:
        return str(self.path)

    def __truediv__(self, other: str) -> Path:
        """A path of this host: only where the mount is visible here (host-fuse); `files` works everywhere."""
        return self.path / other

    @property
    def files(self) -> MountFiles:
        """File operations run inside the client host, on every provider (harness.mountfiles)."""
        return MountFiles.of(self.client, self.path)

    def require_in(self, client: "Host", user: str) -> None:
        """ConfigError unless this is a glusterfs mount in `client`, as that client sees it; `user` (fio,
        the S3 gateway) is who would use it there."""
        if client.name != self.client.name:
            raise ConfigError(f"{user} in client {client.name} cannot use {self.path}, a mount of client "
                              f"{self.client.name}; run {user} in the mount's client")
        found = client.run(["findmnt", "--noheadings", "--output", "FSTYPE", "--mountpoint", str(self.path)],
                           timeout=15, check=False).stdout.strip()
        if found != "fuse.glusterfs":
            raise ConfigError(f"{self.path} is not a glusterfs mount in client {client.name} "
                              f"({f'a {found} mount' if found else 'nothing is mounted there'}); mount the volume "
                              f"there before running {user} on it")

    @property
    def state_dir(self) -> str:
        """A directory of the client host outside the mount, for what runs there (the latency probe's log)."""
        return str(self.log_file.parent)

    @property
    def pid(self) -> int | None:
        try:
            return int(self.pid_file.read_text().strip())
        except (FileNotFoundError, ValueError):
            return None

    def _graph_dirs(self) -> list[Path]:
        # AFR lists child_up[i] per replica set; EC prints childs_up_mask as a binary string.
        kind = "replicate" if self.volume.spec.replicated else "disperse"
        return [self.path / ".meta/graphs/active" / f"{self.volume.name}-{kind}-{i}" for i in range(self.volume.spec.sets)]

    def children_up(self) -> list[list[bool]] | None:
        """Per replica set, whether the client sees each child up; None while .meta is not readable."""
        sets = []
        try:
            for graph in self._graph_dirs():
                text = (graph / "private").read_text()
                if self.volume.spec.replicated:
                    states = sorted((int(i), v == "1") for i, v in CHILD_UP_RE.findall(text))
                    sets.append([up for _, up in states])
                else:
                    sets.append(_disperse_children(text, self.volume.spec.set_size))
        except OSError:
            return None
        return sets

    def all_children_up(self) -> bool:
        """Every child up, but those of bricks left out (which stay down)."""
        sets = self.children_up()
        size = self.volume.spec.set_size
        return bool(sets) and all(
            s and all(up or n * size + i in self.left_out for i, up in enumerate(s)) for n, s in enumerate(sets)
        )

    def wait_children_up(self, timeout: float = MOUNT_READY_TIMEOUT_S) -> None:
        wait_for(self.all_children_up, timeout=timeout, what=f"every child of {self.volume.name} up at {self.path}",
                 describe=lambda: f"children_up={self.children_up()}")

    def unmount(self) -> None:
        """Unmount and wait for the client process to exit. Idempotent."""
        client = Proc.of(pid) if (pid := daemon_pid(self.pid_file)) else None
        detach_loops_over(self.client, PurePosixPath(self.path))
        if is_mounted(self.path):
            if not run(["umount", str(self.path)], timeout=30, check=False).ok:
                run(["umount", "-l", str(self.path)], timeout=30)
        if client and client.alive():
            kill_pids([client.pid])


def loop_devices(client: "Host") -> list[dict]:
    """The loop devices as the client sees them: {name, back-file, dio}."""
    out = client.run(["losetup", "--json", "--list", "--output", "NAME,BACK-FILE,DIO"], timeout=15).stdout
    return json.loads(out).get("loopdevices", []) if out.strip() else []


def detach_loops_over(client: "Host", path: PurePosixPath) -> None:
    """Detach loop devices backed by a file under `path` in the client (a block workload's, left by a
    failed test): one would keep the mount busy and outlive it."""
    for device in loop_devices(client):
        if PurePosixPath(device.get("back-file") or "/").is_relative_to(path):
            client.run(["losetup", "--detach", device["name"]], timeout=30, check=False)


def _disperse_children(text: str, size: int) -> list[bool]:
    match = CHILDS_UP_MASK_RE.search(text)
    mask = int(match.group(1), 2) if match else 0
    return [bool(mask & (1 << i)) for i in range(size)]


def leave_out_args(volume: MountSource, bricks: Collection[int]) -> list[str]:
    """glusterfs arguments that keep a client away from these bricks (indices in the volume).

    Naming a brick that does not exist as the client's remote subvolume leaves that child down for
    the mount's life, so a disperse read must decode from the other bricks' fragments."""
    return [f"--xlator-option={volume.name}-client-{i}.remote-subvolume=/left-out" for i in sorted(bricks)]


def glusterfs_mounts(proc_mounts: str) -> list[str]:
    """Mount points of the fuse.glusterfs lines of a /proc/mounts text (octal escapes undone)."""
    found = []
    for line in proc_mounts.splitlines():
        fields = line.split()
        if len(fields) > 2 and fields[2] == "fuse.glusterfs":
            found.append(re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), fields[1]))
    return found


def mount_name_of(path: str, volume: str) -> bool:
    """Whether a mount point's name is one the harness gives mounts of `volume` (<volume>-<n>)."""
    name, sep, seq = path.rsplit("/", 1)[-1].rpartition("-")
    return bool(sep) and name == volume and seq.isdigit()


def is_mounted(path: Path) -> bool:
    target = str(path)
    with open("/proc/mounts") as fh:
        return any(line.split()[1] == target for line in fh)


def glusterfs_command(volume: MountSource, mount_point: PurePath, pid_file: PurePath, log_file: PurePath,
                      leave_out: Collection[int] = ()) -> list[str]:
    """The FUSE client's command line: every server of the volume to fetch its volfile from."""
    return ["glusterfs", *(f"--volfile-server={a}" for a in volume.server_addresses), f"--volfile-id={volume.name}",
            *leave_out_args(volume, leave_out), f"--log-file={log_file}", f"--pid-file={pid_file}", str(mount_point)]


def mount_volume(client: "Host", volume: V, path: PurePath, log_dir: PurePath, leave_out: Collection[int] = (),
                 kind: "type[M]" = FuseMount) -> "M":
    """Start the FUSE client inside the client host and wait until it is whole (every child up but
    those of the bricks in `leave_out`, see leave_out_args); paths are the client's (`kind` reads its
    state there: a pod's mount is a K8sFuseMount)."""
    mount = kind(client, volume, path, log_dir / f"{path.name}.pid", log_dir / f"{path.name}.log",
                 frozenset(leave_out))
    client.run(["mkdir", "-p", str(path), str(log_dir)], timeout=30)
    client.run(glusterfs_command(volume, path, mount.pid_file, mount.log_file, leave_out), timeout=60)
    try:
        mount.wait_children_up()
    except BaseException:
        mount.unmount()
        raise
    return mount
