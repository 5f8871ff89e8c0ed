"""Node containers of a kind cluster: stop/start (crash) and pause/unpause (hang) through docker.

kind runs every Kubernetes node as a container named after the node, so a node crash is
`docker stop` (kill: no graceful shutdown) and a hang is `docker pause` (cgroup freezer: every
process of the node, kubelet included, stops at once). The command runner is injectable so the
provider logic is tested without a container engine.
"""
from __future__ import annotations

from typing import Callable, Sequence

from ...control import Capability
from ...errors import HarnessError, Unsupported
from ...runner import CommandResult, run

Runner = Callable[..., CommandResult]
RUNTIME_TIMEOUT_S = 60.0


class DockerNodeRuntime:
    """The container engine kind uses (docker, or podman with the same CLI)."""

    capabilities = frozenset({Capability.NODE_CONTAINER_FAULTS})

    def __init__(self, binary: str = "docker", runner: Runner = run) -> None:
        self.binary, self.runner = binary, runner

    def _run(self, args: Sequence[str], check: bool = True) -> CommandResult:
        return self.runner([self.binary, *args], timeout=RUNTIME_TIMEOUT_S, check=check, where="container engine")

    def state(self, node: str) -> str:
        """created | running | paused | restarting | exited | dead (docker's State.Status)."""
        result = self._run(["inspect", "--format", "{{.State.Status}}", node], check=False)
        if not result.ok:
            raise HarnessError(f"node container {node} not found by {self.binary}: {result.stderr.strip()}; "
                               f"is this a kind cluster on this machine?")
        return result.stdout.strip()

    def stop(self, node: str) -> None:
        self._run(["kill", node])

    def start(self, node: str) -> None:
        self._run(["start", node])

    def pause(self, node: str) -> None:
        self._run(["pause", node])

    def unpause(self, node: str) -> None:
        self._run(["unpause", node])

    def run_in_network(self, node: str, argv: Sequence[str], timeout: float, pod_uid: str | None = None
                       ) -> CommandResult:
        raise Unsupported(f"kind node {node}: running this machine's programs in a node container's network is "
                          f"not done ({Capability.PACKET_DELAY})")

    def network_namespace(self, node: str, pod_uid: str) -> str:
        raise Unsupported(f"kind node {node}: entering a pod's network from this machine is not done "
                          f"({Capability.S3_GATEWAY})")
