"""This host as a client host: commands run here, as a local client host runs them in its network
namespace, so what is sent to a client (clientops) is exercised without a cluster."""
from __future__ import annotations

from typing import Sequence

from harness.control import Host
from harness.runner import CommandResult, ProcessStream, run


class ThisHost(Host):
    name = "here"

    def run(self, argv: Sequence[str], *, timeout: float = 60.0, input: str | None = None,
            check: bool = True) -> CommandResult:
        return run(argv, timeout=timeout, input=input, check=check, where="this host")

    def open_stream(self, argv: Sequence[str]) -> ProcessStream:
        return ProcessStream(argv, argv[0], "this host")
