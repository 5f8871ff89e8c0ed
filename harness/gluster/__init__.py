"""GlusterFS itself: a node's CLI and its --xml output as typed values, glusterd's log and the
volumes it knows, op-versions, the installed and fetched versions, and names a brick holds without a gfid."""
from .cli import GlusterCLI, GlusterError
from .xml import (
    BrickInfo,
    BrickStatus,
    DaemonStatus,
    HealBrickSummary,
    HealEntriesBrick,
    HealSummary,
    Peer,
    VolumeInfo,
    VolumeStatus,
)

__all__ = [
    "BrickInfo",
    "BrickStatus",
    "DaemonStatus",
    "GlusterCLI",
    "GlusterError",
    "HealBrickSummary",
    "HealEntriesBrick",
    "HealSummary",
    "Peer",
    "VolumeInfo",
    "VolumeStatus",
]
