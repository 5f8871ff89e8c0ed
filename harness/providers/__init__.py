"""Providers build a Cluster: `local` (embedded), `kind` and `existing` (Kubernetes)."""
from __future__ import annotations

from pathlib import Path
from typing import Protocol

from ..cluster import Cluster
from ..errors import ConfigError

PROVIDERS = ("local", "kind", "existing")


class Provider(Protocol):
    def up(self) -> Cluster:
        """Build (or attach to) a cluster and return it ready: peers connected."""


def make_provider(name: str, *, nodes: int, zones: int, clients: int, root: Path) -> Provider:
    if name == "local":
        from .local import LocalProvider

        return LocalProvider(nodes=nodes, zones=zones, clients=clients, root=root)
    if name in ("kind", "existing"):
        raise ConfigError(
            f"--gluster-provider {name} is not available yet (tracked in the Kubernetes providers issue); "
            f"use --gluster-provider local"
        )
    raise ConfigError(f"unknown provider {name!r}; choose one of {', '.join(PROVIDERS)}")
