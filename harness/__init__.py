"""GlusterFS conformance harness: clusters, volumes, faults, workloads, checks and reports."""
from .cluster import Capability, ClientHost, Cluster, Node
from .errors import CommandError, ConfigError, HarnessError, MissingPrerequisite, WaitTimeout
from .mount import FuseMount
from .runner import CommandResult, run
from .volume import Volume, VolumeSpec, VolumeType

__all__ = [
    "Capability", "ClientHost", "Cluster", "CommandError", "CommandResult", "ConfigError", "FuseMount",
    "HarnessError", "MissingPrerequisite", "Node", "Volume", "VolumeSpec", "VolumeType", "WaitTimeout", "run",
]
