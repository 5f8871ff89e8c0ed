"""The embedded provider's hosts: a storage node (network + mount namespace held by a holder
process, its own glusterd) and a client host (a network namespace; its mounts are this host's)."""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Callable, Sequence

from ..cluster import DEFAULT_TIMEOUT_S, HOSTNAME_LABEL, ZONE_LABEL, ClientHost, Node
from ..errors import GlusterdStartFailed, HarnessError, WaitTimeout
from ..gluster import glusterd_log, versions
from ..runner import CommandResult, ProcessStream, run
from ..waiting import wait_for
from .host import netns
from .host.netplan import HostPlan
from .host.proc import daemon_pid

log = logging.getLogger("harness.local")


class LocalNode(Node):
    version: str = ""  # a plain attribute here (the contract's is a read-only property): set_version swaps it

    def __init__(self, plan: HostPlan, holder_pid: int, node_dir: Path) -> None:
        super().__init__(
            name=plan.name, zone=plan.zone or "", address=plan.address, brick_root=str(node_dir / "bricks"),
            labels={ZONE_LABEL: plan.zone or "", HOSTNAME_LABEL: plan.name},
        )
        self.namespace = plan.namespace
        self.holder_pid = holder_pid
        self.dir = node_dir
        self.version = versions.installed_version()  # what glusterd, bricks and CLI of this node run

    def run(self, argv: Sequence[str], *, timeout: float = DEFAULT_TIMEOUT_S, input: str | None = None,
            check: bool = True) -> CommandResult:
        return run(["nsenter", "-t", str(self.holder_pid), "-n", "-m", *argv], timeout=timeout, input=input,
                   check=check, where=self.name)

    def run_in_network(self, argv: Sequence[str], *, timeout: float = DEFAULT_TIMEOUT_S) -> CommandResult:
        return self.run(argv, timeout=timeout)  # the node's mount namespace still holds this machine's files

    def open_stream(self, argv: Sequence[str]) -> ProcessStream:
        return ProcessStream(["nsenter", "-t", str(self.holder_pid), "-n", "-m", *argv], argv[0], self.name)

    def log_tails(self, max_bytes: int) -> dict[str, bytes]:
        logs = self.dir / "log"
        found = sorted(p for p in logs.rglob("*.log") if p.is_file() and p.stat().st_size) if logs.is_dir() else []
        return {str(p.relative_to(logs)): _tail(p, max_bytes) for p in found}

    @property
    def glusterd_pid_file(self) -> Path:
        return self.dir / "glusterd.pid"

    def glusterd_pid(self) -> int | None:
        return daemon_pid(self.glusterd_pid_file)

    def start_glusterd(self) -> None:
        """Start glusterd as a (re)started pod would; returns once it answers the CLI.

        Started through the node's init, so glusterd and the daemons it forks are reaped there.
        A glusterd that exits at start, or never answers, raises GlusterdStartFailed quoting the
        errors it logged (e.g. "wrong op-version (110000) retrieved"), not a CLI timeout.
        """
        self.glusterd_pid_file.unlink(missing_ok=True)
        socket = Path(f"/proc/{self.holder_pid}/root/run/glusterd.socket")
        socket.unlink(missing_ok=True)
        log_file = self.dir / "log" / "glusterd.log"
        offset = log_file.stat().st_size if log_file.exists() else 0

        def logged() -> str:  # what this start has logged so far
            if not log_file.exists():
                return ""
            with open(log_file, errors="replace") as fh:
                fh.seek(offset)
                return fh.read()

        def up(probe: Callable[[], bool]) -> Callable[[], bool]:
            def check() -> bool:
                if probe():
                    return True
                if glusterd_log.start_ended(logged()):
                    raise GlusterdStartFailed(self.name, self.version, "exited at start",
                                              glusterd_log.start_errors(logged()), str(log_file))
                return False
            return check

        netns.spawn_in_node(self.dir, ["glusterd", "-N", f"--pid-file={self.glusterd_pid_file}"])
        try:
            # A CLI call made before the socket exists waits out the CLI's 3 s reconnect interval.
            wait_for(up(socket.exists), timeout=30, interval=0.02, what=f"glusterd on {self.name} to open its socket")
            wait_for(up(lambda: self.run(["gluster", "--mode=script", "pool", "list"], timeout=10, check=False).ok),
                     timeout=30, what=f"glusterd on {self.name} to answer")
        except WaitTimeout as exc:
            raise GlusterdStartFailed(self.name, self.version, f"did not come up ({exc})",
                                      glusterd_log.start_errors(logged()), str(log_file)) from None

    def set_version(self, version: str) -> None:
        """Run GlusterFS `version` on this node from its next glusterd start: the version's files are
        bind-mounted over the installed ones inside the node's own mount namespace (the host never
        sees them). Only while the node runs no gluster process: a running one keeps its old code."""
        if version == self.version:
            return
        new_root = versions.require(version)
        if self.pids():
            raise HarnessError(f"cannot swap {self.name} to GlusterFS {version} while its processes run "
                               f"(pids {self.pids()}); stop the node first")
        installed = versions.installed_version()
        old = None if self.version == installed else (self.version, versions.version_root(self.version))
        new = None if new_root is None else (version, new_root)
        script = versions.swap_script(old, new, self.dir / "gsyncd-absent")
        run(["nsenter", "-t", str(self.holder_pid), "-m", "sh", "-c", script], timeout=30, where=self.name)
        log.info("%s: GlusterFS %s -> %s", self.name, self.version, version)
        self.version = version
        self.save_version()

    @property
    def version_file(self) -> Path:
        return self.dir / "version"

    def save_version(self) -> None:
        self.version_file.write_text(self.version + "\n")

    def pids(self) -> list[int]:
        """Every process of this node except its holder (the node itself, like a pause container)."""
        return [p for p in netns.namespace_pids(self.namespace) if p != self.holder_pid]


class LocalClient(ClientHost):
    def __init__(self, plan: HostPlan) -> None:
        super().__init__(name=plan.name, address=plan.address)
        self.namespace = plan.namespace

    def run(self, argv: Sequence[str], *, timeout: float = DEFAULT_TIMEOUT_S, input: str | None = None,
            check: bool = True) -> CommandResult:
        # Only the network namespace: mounts made here are visible to the test process.
        return run(["nsenter", f"--net=/run/netns/{self.namespace}", *argv], timeout=timeout, input=input,
                   check=check, where=self.name)

    def run_in_network(self, argv: Sequence[str], *, timeout: float = DEFAULT_TIMEOUT_S) -> CommandResult:
        return self.run(argv, timeout=timeout)

    def open_stream(self, argv: Sequence[str]) -> ProcessStream:
        return ProcessStream(["nsenter", f"--net=/run/netns/{self.namespace}", *argv], argv[0], self.name)

    def network_namespace(self) -> str:
        return f"/run/netns/{self.namespace}"


def _tail(path: Path, max_bytes: int) -> bytes:
    with open(path, "rb") as fh:
        fh.seek(0, 2)
        size = fh.tell()
        fh.seek(max(0, size - max_bytes))
        data = fh.read()
    return data if size <= max_bytes else b"[... earlier lines cut ...]\n" + data
