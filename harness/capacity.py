"""Resource ceilings: refuse a local cluster that would not fit this machine's memory.

Pure estimates from measured per-process figures, compared with MemAvailable before anything on
the machine changes. Without brick multiplexing every brick is its own glusterfsd; with
`cluster.brick-multiplex on` the bricks of a node share a few processes, each brick then costing
only its own graph. The figures below were measured on this project's Debian 12 / GlusterFS 10.3
machine by the provisioning storm (`python benchmarks/storm.py`, curve points of
reports/<run>/storm-*.json); re-measure with it on other builds.
"""
from __future__ import annotations

import math
import resource
from dataclasses import dataclass, replace
from pathlib import Path

from .errors import ConfigError

MEMINFO = Path("/proc/meminfo")


# Open files per brick: an idle brick glusterfsd holds 273 (posix keeps the 256 .glusterfs/xx
# directories open, plus sockets), measured here. A multiplexed process needs that per attached
# brick, so the open-files limit it inherits caps how many bricks it can take: with this machine's
# 20000, attaches failed from the 76th brick on ("send_attach_req ... called with null rpc").
FDS_PER_BRICK = 280
FD_RESERVE = 1000


def bricks_per_process_limit(nofile: int | None = None) -> int:
    """Bricks one multiplexed glusterfsd can hold under an open-files limit (default: ours, which glusterd inherits)."""
    if nofile is None:
        nofile = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
        nofile = 1 << 20 if nofile == resource.RLIM_INFINITY else nofile
    return max(1, (nofile - FD_RESERVE) // FDS_PER_BRICK)


class CapacityError(ConfigError):
    """The configuration would not fit this machine's memory (raised before anything changes)."""


@dataclass(frozen=True)
class Footprint:
    """Resident memory (MiB of RSS) of gluster's processes, as measured here.

    Measured with the storm (30 and 100 replica-3 volumes, 3 nodes, GlusterFS 10.3): an idle brick
    glusterfsd 18.5 MiB RSS at 30 volumes, 20.3 MiB at 100 (each brick also serves every node's
    self-heal daemon); 22 leaves a margin (DESIGN.md quotes ~26 MB; not reproduced idle here);
    a multiplexed glusterfsd ~20 MiB plus 2.3-2.6 MiB per attached brick at 30-100 volumes, 3.4 at
    969 (9784 MiB for 2907 bricks in 45 processes); glusterd 19-32 MiB growing 0.17-0.27 MiB per
    volume; the self-heal daemon ~13 MiB growing 0.5 MiB per replicated volume at 30 volumes and
    1.5 at 969 (4279 MiB over 3 nodes: its graph holds a client of every brick of every volume). RSS counts shared pages once per process, so these estimates
    err on the safe side: MemAvailable fell by ~12 MiB per unmultiplexed brick. A FUSE client
    measured 19-21 MiB idle; 40 leaves room for its caches under I/O.
    """

    brick_process_mb: float = 22.0  # one glusterfsd serving one brick (multiplexing off)
    mux_process_mb: float = 20.0  # a multiplexed glusterfsd with its first brick
    mux_brick_mb: float = 3.5  # each further brick attached to a multiplexed glusterfsd
    max_bricks_per_process: int = 250  # gluster's cluster.max-bricks-per-process default
    glusterd_mb: float = 30.0  # glusterd with no volume
    glusterd_per_volume_mb: float = 0.3  # glusterd's growth per volume, on every node
    node_daemons_mb: float = 15.0  # the self-heal daemon, per node
    shd_per_volume_mb: float = 1.5  # the self-heal daemon's growth per volume, on every node
    mount_mb: float = 40.0  # one FUSE client


MEASURED = Footprint()


@dataclass(frozen=True)
class Demand:
    """What a configuration asks of the machine."""

    nodes: int
    volumes: int = 0
    bricks_per_volume: int = 3
    brick_multiplex: bool = False
    mounts: int = 0
    concurrency: int = 1  # volumes started at the same time
    bricks_per_process: int | None = None  # cluster.max-bricks-per-process in force (None: the footprint's)

    @property
    def bricks(self) -> int:
        return self.volumes * self.bricks_per_volume

    def brick_processes(self, footprint: Footprint = MEASURED) -> int:
        """glusterfsd processes over the cluster (bricks spread evenly over the nodes).

        With multiplexing, volumes started at the same moment on a node with no brick process yet
        each spawn their own (measured: 4 concurrent starts gave up to 4 per node), so a node holds
        at least min(bricks, concurrency) processes.
        """
        if not self.brick_multiplex:
            return self.bricks
        per_node = math.ceil(self.bricks / self.nodes) if self.nodes else 0
        by_limit = math.ceil(per_node / (self.bricks_per_process or footprint.max_bricks_per_process))
        return self.nodes * max(by_limit, min(per_node, self.concurrency))

    def describe(self) -> str:
        mux = "on" if self.brick_multiplex else "off"
        return (f"{self.nodes} nodes x {self.volumes} volumes x {self.bricks_per_volume} bricks "
                f"(brick multiplexing {mux})")


@dataclass(frozen=True)
class Estimate:
    demand: Demand
    brick_processes: int
    bricks_mb: float
    daemons_mb: float
    mounts_mb: float

    @property
    def total_mb(self) -> float:
        return self.bricks_mb + self.daemons_mb + self.mounts_mb


def estimate(demand: Demand, footprint: Footprint = MEASURED) -> Estimate:
    """Resident memory the demand will take, from the footprint's per-process figures. Pure."""
    processes = demand.brick_processes(footprint)
    if demand.brick_multiplex:
        extra_bricks = max(demand.bricks - processes, 0)
        bricks_mb = processes * footprint.mux_process_mb + extra_bricks * footprint.mux_brick_mb
    else:
        bricks_mb = processes * footprint.brick_process_mb
    per_volume = footprint.glusterd_per_volume_mb + footprint.shd_per_volume_mb
    daemons_mb = demand.nodes * (footprint.glusterd_mb + footprint.node_daemons_mb + demand.volumes * per_volume)
    return Estimate(demand, processes, bricks_mb, daemons_mb, demand.mounts * footprint.mount_mb)


def meminfo(path: Path = MEMINFO) -> dict[str, float]:
    """/proc/meminfo in MiB."""
    values = {}
    for line in path.read_text().splitlines():
        key, _, rest = line.partition(":")
        fields = rest.split()
        if fields:
            values[key] = int(fields[0]) / 1024 if fields[1:] == ["kB"] else float(fields[0])
    return values


def headroom_mb(total_mb: float) -> float:
    """Memory left free for everything else on the machine: 10 % of it, at least 1 GiB."""
    return max(1024.0, 0.10 * total_mb)


def check(demand: Demand, *, available_mb: float | None = None, total_mb: float | None = None,
          footprint: Footprint = MEASURED) -> Estimate:
    """Return the estimate if it fits in MemAvailable less headroom; raise CapacityError if not.

    Call before anything on the machine changes. The message states the arithmetic and what to
    change: brick multiplexing first (it is what makes hundreds of volumes fit), else fewer volumes.
    """
    if (demand.nodes < 1 or demand.volumes < 0 or demand.bricks_per_volume < 1 or demand.mounts < 0
            or demand.concurrency < 1 or (demand.bricks_per_process is not None and demand.bricks_per_process < 1)):
        raise ConfigError(f"impossible demand {demand}: nodes, bricks per volume and concurrency must be >= 1, "
                          f"volumes and mounts >= 0")
    if available_mb is None or total_mb is None:
        info = meminfo()
        available_mb = info["MemAvailable"] if available_mb is None else available_mb
        total_mb = info["MemTotal"] if total_mb is None else total_mb
    est = estimate(demand, footprint)
    usable = available_mb - headroom_mb(total_mb)
    if est.total_mb <= usable:
        return est
    if demand.brick_multiplex:
        advice = (f"lower the number of volumes (at most about {max_volumes(demand, usable, footprint)} fit), "
                  "or free memory on this machine")
    else:
        muxed = estimate(replace(demand, brick_multiplex=True), footprint)
        fits = "fits" if muxed.total_mb <= usable else "still does not fit"
        advice = (f"turn on brick multiplexing (`gluster volume set all cluster.brick-multiplex on`; the storm's "
                  f"brick_multiplex=True): the bricks then share {muxed.brick_processes} processes, about "
                  f"{muxed.total_mb:.0f} MiB, which {fits}; or lower the number of volumes (at most about "
                  f"{max_volumes(demand, usable, footprint)} fit without multiplexing)")
    raise CapacityError(
        f"{demand.describe()} would not fit this machine: {est.brick_processes} brick processes "
        f"({'multiplexed' if demand.brick_multiplex else f'{footprint.brick_process_mb:.0f} MiB RSS each'}) "
        f"+ daemons + mounts need about {est.total_mb:.0f} MiB, but MemAvailable is {available_mb:.0f} MiB "
        f"of which {headroom_mb(total_mb):.0f} MiB stays free for the rest of the machine; {advice}"
    )


def max_volumes(demand: Demand, usable_mb: float, footprint: Footprint = MEASURED) -> int:
    """The largest volume count of this shape whose estimate fits in usable_mb (0 if none)."""
    lo, hi = 0, 1
    shape = lambda v: replace(demand, volumes=v)  # noqa: E731
    while estimate(shape(hi), footprint).total_mb <= usable_mb and hi < 10**7:
        lo, hi = hi, hi * 2
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (mid, hi) if estimate(shape(mid), footprint).total_mb <= usable_mb else (lo, mid)
    return lo if estimate(shape(lo), footprint).total_mb <= usable_mb else 0
