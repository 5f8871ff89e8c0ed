"""Run profiles: `fast` for CI (short timeouts), `realistic` (gluster's own defaults)."""
from __future__ import annotations

from dataclasses import dataclass, field

from .errors import ConfigError


@dataclass(frozen=True)
class Profile:
    name: str
    # Options every scenario volume gets unless the scenario states its own.
    volume_options: dict[str, str] = field(default_factory=dict)
    heal_timeout_s: float = 120.0
    fault_timeout_s: float = 30.0
    storm_volumes: int = 100


PROFILES = {
    "fast": Profile("fast", {"network.ping-timeout": "5"}, heal_timeout_s=120.0, fault_timeout_s=30.0, storm_volumes=100),
    "realistic": Profile("realistic", {}, heal_timeout_s=900.0, fault_timeout_s=120.0, storm_volumes=1000),
}


def get_profile(name: str) -> Profile:
    try:
        return PROFILES[name]
    except KeyError:
        raise ConfigError(f"unknown profile {name!r}; choose one of {', '.join(PROFILES)}") from None
