"""Gluster control: the CLI of a node, and its --xml output as typed values."""
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
