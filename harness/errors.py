"""One small error hierarchy: every message says what failed, where, and what to do next."""
from __future__ import annotations


class HarnessError(Exception):
    """Base of every error the harness raises on purpose."""


class ConfigError(HarnessError):
    """Bad input from the user: raised before anything on the machine is changed."""


class Unsupported(ConfigError):
    """Asked of a cluster, node or client whose provider cannot do it (it lacks the capability
    named): refused before anything changes."""


class MissingPrerequisite(HarnessError):
    """A binary, privilege or kernel feature the harness needs is absent."""


class StreamEnded(HarnessError):
    """A program kept running in a host (Host.open_stream) ended, or its channel closed."""


class CommandError(HarnessError):
    """A command exited non-zero; carries its argv, exit code and output tail."""

    def __init__(self, result: "CommandResult", where: str = "") -> None:  # noqa: F821
        self.result = result
        self.where = where
        location = f" on {where}" if where else ""
        super().__init__(
            f"command failed{location}: {result.display()} exited {result.returncode}\n"
            f"stdout tail: {result.tail(result.stdout)}\nstderr tail: {result.tail(result.stderr)}"
        )


class WaitTimeout(HarnessError):
    """A state the harness waited for did not arrive in time; `last` is the last state seen, when
    the wait kept one (for a caller that reports its figures)."""

    def __init__(self, message: str, last: object = None) -> None:
        super().__init__(message)
        self.last = last


class KnownDefectTimeout(WaitTimeout):
    """A wait timed out because GlusterFS did what a filed upstream defect says it does; `defect`
    names it with the evidence. Reported as such (xfailed), never as a pass."""

    def __init__(self, message: str, defect: str, last: object = None) -> None:
        super().__init__(message, last)
        self.defect = defect


class GlusterdStartFailed(HarnessError):
    """A started glusterd exited or never answered; the message quotes its own log's errors."""

    def __init__(self, node: str, version: str, reason: str, errors: "list[str]", log: str) -> None:
        self.node, self.version, self.errors = node, version, list(errors)
        quoted = "\n  ".join(self.errors) or "(no error line logged)"
        super().__init__(f"glusterd {version} on {node} {reason}; its log {log} says:\n  {quoted}")
