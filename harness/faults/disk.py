"""Disk faults through gluster's own debug translators, placed above posix on the bricks:
slow disk (`debug.delay-gen`) and failing disk (`debug.error-gen`). Reverted by resetting the
options. `gluster volume set` acts on every brick of the volume: the translators cannot be put
on chosen bricks of one volume through the CLI.
"""
from __future__ import annotations

import errno as errno_mod
from typing import TYPE_CHECKING, Any, Sequence

from ..errors import ConfigError, HarnessError
from .base import Fault
from .hosted import kill

if TYPE_CHECKING:
    from ..cluster import Cluster
    from ..volume import Volume

FOPS = ("read", "write", "fsync", "create", "open", "lookup", "stat", "fstat", "unlink", "mkdir", "readdir", "readdirp",
        "truncate", "ftruncate", "setxattr", "getxattr", "flush", "rename", "link", "symlink", "writev", "readv")
MAX_DELAY_US = 10_000_000


def _fops(fops: Sequence[str]) -> list[str]:
    chosen = [f.strip().lower() for f in fops if f.strip()]
    if not chosen:
        raise ConfigError("a disk fault needs at least one fop, e.g. ['write']")
    unknown = [f for f in chosen if f not in FOPS]
    if unknown:
        raise ConfigError(f"unknown fop(s) {', '.join(unknown)}; known: {', '.join(FOPS)}")
    return chosen


def _percent(value: float, what: str) -> float:
    if not isinstance(value, (int, float)) or not 0 < value <= 100:
        raise ConfigError(f"{what} must be within (0, 100], got {value!r}")
    return float(value)


class VolumeOptionFault(Fault):
    """A fault made of volume options; revert resets them (and nothing else)."""

    volume: "Volume"

    def options(self) -> dict[str, str]:
        raise NotImplementedError

    def targets(self) -> tuple[str, ...]:
        return (self.volume.name,)

    def _own_volumes(self) -> "list[Volume]":
        return [self.volume]

    def _apply(self) -> None:
        cli = self.cluster.gluster
        for option, value in self.options().items():
            self.note_artefact("volume_options", {"volume": self.volume.name, "option": option})
            cli.volume_set(self.volume.name, option, value)
        self.restart_bricks()

    def restart_bricks(self) -> None:
        """Restart the bricks one at a time so they load the changed graph.

        A running brick cannot switch to a graph with a translator added or removed: it tries to
        start a second server on its own port ("Address already in use") and keeps the old graph.
        One brick at a time, each back online and every client child up before the next, keeps
        quorum and I/O going."""
        observer = self.cluster.nodes[0]
        for brick in self.volume.bricks:
            st = self.volume.status(observer).brick(brick.name)
            if st is not None and st.pid is not None and (proc := kill(brick.node, st.pid)):
                self.wait(proc.reaped, f"brick process {st.pid} of {brick.name} to be reaped")
            self.cluster.gluster.xml("volume", "start", self.volume.name, "force")
            self.volume.wait_bricks_online(timeout=self.timeout, via=observer)
            for mount in self.mounts:
                mount.wait_children_up(timeout=self.timeout)

    def _confirm_effect(self) -> dict[str, Any]:
        cli = self.cluster.gluster
        wrong = {o: cli.volume_get(self.volume.name, o) for o in self.options()}
        wrong = {o: v for o, v in wrong.items() if v != self.options()[o]}
        if wrong:
            raise HarnessError(f"{self.kind} on {self.volume.name}: options not in force after volume set: {wrong}")
        # The brick graphs change: confirm the bricks and clients are still connected.
        self.confirm_whole()
        return dict(self.options())

    def _undo(self) -> None:
        cli = self.cluster.gluster
        info = cli.volume_info(self.volume.name)[0]
        present = [o for o in reversed(list(self.options())) if o in info.options]
        for option in present:
            cli.volume_reset(self.volume.name, option)
        if present:
            self.restart_bricks()

    def _confirm_revert(self) -> None:
        def reset() -> bool:
            return not set(self.options()) & set(self.cluster.gluster.volume_info(self.volume.name)[0].options)

        self.wait(reset, f"options {', '.join(self.options())} of {self.volume.name} reset")
        self.confirm_whole()


class SlowDisk(VolumeOptionFault):
    """`delay_us` microseconds added to `percent` % of the chosen fops on every brick."""

    kind = "slow-disk"

    def __init__(self, cluster: "Cluster", volume: "Volume", delay_us: int = 100_000, percent: float = 100.0,
                 fops: Sequence[str] = ("write", "fsync"), **kw: Any) -> None:
        super().__init__(cluster, **kw)
        if not isinstance(delay_us, int) or not 0 < delay_us <= MAX_DELAY_US:
            raise ConfigError(f"delay_us must be an integer within (0, {MAX_DELAY_US}], got {delay_us!r}")
        self.volume, self.delay_us, self.percent = volume, delay_us, _percent(percent, "delay percent")
        self.fops = _fops(fops)

    def params(self) -> dict[str, Any]:
        return {"volume": self.volume.name, "delay_us": self.delay_us, "percent": self.percent, "fops": self.fops}

    def options(self) -> dict[str, str]:
        return {"debug.delay-gen": "posix", "delay-gen.delay-duration": str(self.delay_us),
                "delay-gen.delay-percentage": f"{self.percent:g}", "delay-gen.enable": ",".join(self.fops)}


class FailingDisk(VolumeOptionFault):
    """`percent` % of the chosen fops on every brick fail with `error` (an errno name)."""

    kind = "failing-disk"

    def __init__(self, cluster: "Cluster", volume: "Volume", error: str = "EIO", percent: float = 100.0,
                 fops: Sequence[str] = ("write",), **kw: Any) -> None:
        super().__init__(cluster, **kw)
        if not isinstance(error, str) or not hasattr(errno_mod, error):
            raise ConfigError(f"error must be an errno name such as EIO or ENOSPC, got {error!r}")
        self.volume, self.error, self.percent = volume, error, _percent(percent, "failure percent")
        self.fops = _fops(fops)

    def params(self) -> dict[str, Any]:
        return {"volume": self.volume.name, "error": self.error, "percent": self.percent, "fops": self.fops}

    def options(self) -> dict[str, str]:
        return {"debug.error-gen": "posix", "debug.error-number": self.error,
                "debug.error-failure": f"{self.percent:g}", "debug.error-fops": ",".join(self.fops)}
