"""The bottom of the cluster contract: what runs commands and what a provider can do.

Layers that only run commands (the gluster CLI, mounts) type against Host here, so they need not
import the Cluster module, which itself imports them.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Sequence

from .runner import CommandResult

DEFAULT_TIMEOUT_S = 60.0


class Capability:
    """What a provider can do; suites skip (with the reason) what their cluster cannot serve."""

    PROCESS_FAULTS = "process-faults"
    NETWORK_FAULTS = "network-faults"
    HOST_FUSE = "host-fuse"  # mounts are visible to the test process itself


class Host(ABC):
    """Something that runs commands: a storage node or a client host."""

    name: str

    @abstractmethod
    def run(
        self, argv: Sequence[str], *, timeout: float = DEFAULT_TIMEOUT_S, input: str | None = None, check: bool = True
    ) -> CommandResult:
        """Run argv inside this host; raise CommandError naming the host when check and it fails."""
