"""The S3 gateway "pod": Swift (proxy + account/container/object servers) with s3api and
tempauth, plus memcached, running in a client host with its devices directory on a FUSE mount of
the volume, as the gluster-s3 image did.

Everything runs inside the client host, through the contract (commands and the client's file API),
so the same code starts a gateway in a local client namespace and in a client pod: configs are
generated here (s3config) and sent into a folder of the client, the rings are built there, the
servers started there, and their processes watched and stopped there (gatewayctl). The configs and
rings are kept in the gateway folder here, and the servers' logs are brought back to it at stop.
Debian's swift reads /etc/swift/swift.conf whatever `swift_dir` says, so each server runs in a
private mount namespace where the gateway's own folder is bind-mounted on /etc/swift: the client's
/etc/swift is never read or written. The proxy listens on the client host's address, the backends
and memcached on the client's own loopback.
"""
from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from ..cluster import ClientHost
from ..errors import ConfigError, HarnessError
from ..mount import FuseMount
from ..waiting import wait_for
from . import gatewayctl
from .clientdir import ClientFolder, make_folder
from .s3compat import ACCESS_KEY, REGION, SECRET_KEY
from .s3config import RING_SCRIPT, RINGS, SERVERS, SYSTEM_PYTHON, GatewayPorts, render_configs

__all__ = ["ACCESS_KEY", "SECRET_KEY", "GatewayPorts", "S3Endpoint", "S3Gateway", "start_gateway"]

log = logging.getLogger("harness.s3gateway")

START_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 10.0
CONTROL = Path(gatewayctl.__file__).read_text()
NEEDS = (SYSTEM_PYTHON, "memcached", *(f"swift-{name}-server" for name in SERVERS))
# $1 config folder, $2 log file, $3 pid file, then the server's argv. The pid written is the
# server's own (exec keeps it), and the redirect closes the caller's pipes so run() returns.
DETACH_SCRIPT = 'mount --bind "$1" /etc/swift && echo $$ > "$3" && log=$2 && shift 3 && exec "$@" >>"$log" 2>&1 </dev/null'


@dataclass(frozen=True)
class S3Endpoint:
    """Where to reach an S3 service and as whom. `netns` is a namespace file reaching `url`,
    or None when the caller's own network reaches it."""

    url: str
    access_key: str
    secret_key: str
    region: str = REGION
    netns: str | None = None


@dataclass(eq=False)
class S3Gateway:
    """A running gateway; `stop()` ends every process it started. Use as a context manager."""

    client: ClientHost
    mount: FuseMount
    dir: Path  # here: configs and rings, and the logs once stopped
    folder: ClientFolder | None  # there, while it runs
    devices: PurePosixPath  # on the mount, as the client sees it
    ports: GatewayPorts
    pids: dict[str, int] = field(default_factory=dict)  # as the client sees them
    start_seconds: float = 0.0

    @property
    def url(self) -> str:
        return f"http://{self.client.address}:{self.ports.proxy}"

    def endpoint(self, via: ClientHost | None = None) -> S3Endpoint:
        """Credentials and URL; clients connect from `via` (default: the gateway's own host)."""
        return S3Endpoint(self.url, ACCESS_KEY, SECRET_KEY, REGION, (via or self.client).network_namespace())

    def __enter__(self) -> "S3Gateway":
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _control(self, *args: str) -> dict:
        result = self.client.run([SYSTEM_PYTHON, "-c", CONTROL, *args], timeout=STOP_TIMEOUT_S * 2 + 30)
        return json.loads(result.stdout)

    def _named(self) -> list[str]:
        return [f"{name}={pid}" for name, pid in self.pids.items()]

    def probe(self) -> dict:
        """{"dead": servers gone, "ready": S3 answers}, seen from the client."""
        return self._control("probe", self.url, ",".join(map(str, self.ports.backends())), *self._named())

    def dead(self) -> list[str]:
        return self.probe()["dead"] if self.pids else []

    def log_tail(self, name: str, chars: int = 1500) -> str:
        log_file = f"log/{name}.log"
        try:
            text = (self.folder.files.read(log_file, uncached=False) if self.folder is not None
                    else (self.dir / log_file).read_bytes())
        except FileNotFoundError:
            return "(no log)"
        return text.decode(errors="replace")[-chars:]

    def stop(self) -> None:
        """SIGTERM every server, SIGKILL what is left after a grace period, bring the logs back here and
        remove the client's folder. Idempotent."""
        if self.pids:
            stopped = self._control("stop", str(STOP_TIMEOUT_S), *self._named())
            for name in stopped["killed"]:
                log.warning("gateway %s on %s ignored SIGTERM; killed it", name, self.client.name)
            if stopped["left"]:
                raise HarnessError(f"S3 gateway processes {stopped['left']} on {self.client.name} did not exit "
                                   f"after SIGKILL")
            self.pids.clear()
        if self.folder is not None:
            logs = [f"log/{n}.log" for n in ("memcached", *SERVERS)]
            self.folder.bring_back(self.dir, logs, optional=logs)
            self.folder.remove()
            self.folder = None


def _check_client(client: ClientHost, mount: FuseMount, ports: GatewayPorts) -> None:
    """ConfigError, before anything starts, for a mount not there, missing software or busy ports."""
    mount.require_in(client, "the S3 gateway")
    found = client.run(["sh", "-c", 'for p; do command -v "$p" >/dev/null || echo "$p"; done', "sh", *NEEDS],
                       timeout=30)
    if found.stdout.split():
        raise ConfigError(f"client {client.name} lacks {', '.join(found.stdout.split())}; the S3 gateway needs "
                          f"Debian's swift servers, memcached and {SYSTEM_PYTHON} there")
    busy = json.loads(client.run([SYSTEM_PYTHON, "-c", CONTROL, "busy", client.address,
                                  *map(str, [ports.proxy, *ports.backends()])], timeout=30).stdout)
    if busy:
        raise ConfigError(f"ports {busy} are already in use on {client.name}; is another gateway running there? "
                          f"stop it or pass other GatewayPorts")


def start_gateway(client: ClientHost, mount: FuseMount, gateway_dir: Path, ports: GatewayPorts | None = None,
                  timeout: float = START_TIMEOUT_S) -> S3Gateway:
    """Start memcached and the Swift servers in `client` over `mount`; return once S3 answers.

    Raises ConfigError before starting anything when the mount is not there, the client lacks the
    software or the ports, or the gateway folder is in use; HarnessError naming the server and its
    log tail when a server dies or does not answer in time (everything started is stopped again).
    """
    ports = ports or GatewayPorts()
    if gateway_dir.exists():
        raise ConfigError(f"gateway folder {gateway_dir} already exists; give each gateway its own folder")
    _check_client(client, mount, ports)
    started = time.monotonic()
    folder = make_folder(client, "harness-s3")
    devices = PurePosixPath(mount.path) / f"swift-{gateway_dir.name}"
    gateway = S3Gateway(client, mount, gateway_dir, folder, devices, ports)
    try:
        mount.files.mkdir(devices.name)
        mount.files.mkdir(f"{devices.name}/d1")
        configs = render_configs(f"{folder.path}/etc", str(devices), client.address, ports)
        folder.send({f"etc/{name}": text.encode() for name, text in configs.items()}, folders=["etc", "log"])
        for name in ("memcached", *SERVERS):
            if name == "proxy":
                # Only the proxy loads rings at start: build them while the others import.
                client.run([SYSTEM_PYTHON, "-c", RING_SCRIPT, f"{folder.path}/etc",
                            *map(str, (ports.account, ports.container, ports.obj))], timeout=60)
            argv = (["memcached", "-u", "nobody", "-l", "127.0.0.1", "-p", str(ports.memcached), "-U", "0", "-m", "64"]
                    if name == "memcached" else
                    # -v: log to stdout (our log file) as well; there is no syslog in the client.
                    [f"swift-{name}-server", f"{folder.path}/etc/{name}-server.conf", "-v"])
            client.run(["setsid", "--fork", "unshare", "-m", "--propagation", "private", "sh", "-c", DETACH_SCRIPT,
                        "sh", f"{folder.path}/etc", f"{folder.path}/log/{name}.log", f"{folder.path}/{name}.pid",
                        *argv], timeout=15)
            gateway.pids[name] = wait_for(lambda: _read_pid(folder, f"{name}.pid"), timeout=5,
                                          what=f"pid file of {name}")

        def ready() -> bool:
            state = gateway.probe()
            if state["dead"]:
                raise HarnessError(f"S3 gateway on {client.name}: {state['dead'][0]} exited during start; "
                                   f"log tail:\n{gateway.log_tail(state['dead'][0])}")
            return bool(state["ready"])

        wait_for(ready, timeout=timeout, interval=0.1, what=f"S3 gateway on {client.name} at {gateway.url}")
        folder.bring_back(gateway_dir, [f"etc/{name}" for name in (*configs, *RINGS)])
    except BaseException:
        gateway.stop()
        raise
    gateway.start_seconds = time.monotonic() - started
    log.info("S3 gateway on %s at %s up in %.2f s", client.name, gateway.url, gateway.start_seconds)
    return gateway


def _read_pid(folder: ClientFolder, name: str) -> int | None:
    try:
        return int(folder.files.read(name, uncached=False).strip())
    except (FileNotFoundError, ValueError):
        return None
