"""The S3 gateway "pod": Swift (proxy + account/container/object servers) with s3api and
tempauth, plus memcached, running in a client host with its devices directory on a FUSE mount of
the volume, as the gluster-s3 image did.

Everything is generated per gateway under the run's root: configs, single-replica rings, logs and
pid files. Debian's swift reads /etc/swift/swift.conf whatever `swift_dir` says, so each server
runs in a private mount namespace where the gateway's own folder is bind-mounted on /etc/swift:
/etc/swift on the host is never read or written. The processes run in the client host's network
namespace (so cluster teardown kills them too); the proxy listens on the client host's address,
the backends and memcached on that namespace's own loopback.
"""
from __future__ import annotations

import logging
import os
import secrets
import signal
import socket
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

from ..cluster import ClientHost
from ..errors import ConfigError, HarnessError
from ..mount import FuseMount, is_mounted
from ..providers.host.netns import is_alive
from ..runner import run
from ..waiting import wait_for
from .nsenter import entered, netns_path

log = logging.getLogger("harness.s3gateway")

ACCESS_KEY = "test:tester"
SECRET_KEY = "testing"
REGION = "us-east-1"
START_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 10.0
SYSTEM_PYTHON = "/usr/bin/python3"  # Debian's swift lives in the system interpreter, not the venv
# Proxy pipeline proven with s3api + tempauth on Swift 2.30 (see DESIGN.md).
PIPELINE = ("catch_errors gatekeeper healthcheck proxy-logging cache listing_formats bulk tempurl ratelimit "
            "s3api tempauth copy container-quotas account-quotas slo dlo versioned_writes symlink "
            "proxy-logging proxy-server")
FILTERS = {
    "catch_errors": "catch_errors", "gatekeeper": "gatekeeper", "healthcheck": "healthcheck",
    "proxy-logging": "proxy_logging", "listing_formats": "listing_formats", "bulk": "bulk", "tempurl": "tempurl",
    "ratelimit": "ratelimit", "copy": "copy", "container-quotas": "container_quotas",
    "account-quotas": "account_quotas", "slo": "slo", "dlo": "dlo", "versioned_writes": "versioned_writes",
    "symlink": "symlink",
}

RING_SCRIPT = """
import sys
from swift.common.ring import RingBuilder
etc = sys.argv[1]
for name, port in zip(("account", "container", "object"), sys.argv[2:5]):
    builder = RingBuilder(10, 1, 1)  # 2^10 partitions, ONE replica (gluster replicates), 1 h
    builder.add_dev({"id": 0, "region": 1, "zone": 1, "ip": "127.0.0.1", "port": int(port),
                     "device": "d1", "weight": 100})
    builder.rebalance()
    builder.save(f"{etc}/{name}.builder")
    builder.get_ring().save(f"{etc}/{name}.ring.gz")
"""

# $1 config folder, $2 log file, $3 pid file, then the server's argv. The pid written is the
# server's own (exec keeps it), and the redirect closes the caller's pipes so run() returns.
DETACH_SCRIPT = 'mount --bind "$1" /etc/swift && echo $$ > "$3" && log=$2 && shift 3 && exec "$@" >>"$log" 2>&1 </dev/null'


@dataclass(frozen=True)
class GatewayPorts:
    proxy: int = 8080
    account: int = 6202
    container: int = 6201
    obj: int = 6200
    memcached: int = 11211

    def __post_init__(self) -> None:
        values = [self.proxy, self.account, self.container, self.obj, self.memcached]
        if any(not 1 <= p <= 65535 for p in values) or len(set(values)) != len(values):
            raise ConfigError(f"gateway ports must be distinct and within 1..65535, got {values}")


@dataclass(frozen=True)
class S3Endpoint:
    """Where to reach an S3 service and as whom. `netns` is a namespace path reaching `url`,
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
    dir: Path
    devices: Path
    ports: GatewayPorts
    pids: dict[str, int] = field(default_factory=dict)
    start_seconds: float = 0.0

    @property
    def url(self) -> str:
        return f"http://{self.client.address}:{self.ports.proxy}"

    def endpoint(self, via: ClientHost | None = None) -> S3Endpoint:
        """Credentials and URL; clients connect from `via` (default: the gateway's own host)."""
        return S3Endpoint(self.url, ACCESS_KEY, SECRET_KEY, REGION, netns_path(via or self.client))

    def __enter__(self) -> "S3Gateway":
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def dead(self) -> list[str]:
        return [name for name, pid in self.pids.items() if not is_alive(pid)]

    def log_tail(self, name: str, chars: int = 1500) -> str:
        try:
            return (self.dir / "log" / f"{name}.log").read_text()[-chars:]
        except FileNotFoundError:
            return "(no log)"

    def stop(self) -> None:
        """SIGTERM every server, SIGKILL what is left after a grace period. Idempotent."""
        for pid in self.pids.values():
            _signal(pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT_S
        while any(is_alive(p) for p in self.pids.values()) and time.monotonic() < deadline:
            time.sleep(0.05)
        for name, pid in self.pids.items():
            if is_alive(pid):
                log.warning("gateway %s on %s ignored SIGTERM; killing it", name, self.client.name)
                _signal(pid, signal.SIGKILL)
        wait_for(lambda: not any(is_alive(p) for p in self.pids.values()), timeout=STOP_TIMEOUT_S,
                 what=f"S3 gateway processes on {self.client.name} to exit")
        self.pids.clear()


def _signal(pid: int, sig: int) -> None:
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass


def render_configs(etc: Path, devices: Path, bind_ip: str, ports: GatewayPorts, log_level: str = "WARNING") -> None:
    """Write swift.conf and the four server configs into `etc` (pure file generation)."""
    etc.mkdir(parents=True, exist_ok=True)
    (etc / "swift.conf").write_text(
        "[swift-hash]\n"
        f"swift_hash_path_suffix = {secrets.token_hex(8)}\n"
        "swift_hash_path_prefix = glusterharness\n\n"
        "[storage-policy:0]\nname = Policy-0\ndefault = yes\n"
    )
    backend_common = (
        f"bind_ip = 127.0.0.1\nworkers = 0\nuser = root\nswift_dir = {etc}\ndevices = {devices}\n"
        # The devices live on a FUSE mount, not a dedicated disk: no mount check, no fallocate.
        f"mount_check = false\ndisable_fallocate = true\nlog_level = {log_level}\n"
    )
    for name, port, app in (("account", ports.account, "account"), ("container", ports.container, "container"),
                            ("object", ports.obj, "object")):
        (etc / f"{name}-server.conf").write_text(
            f"[DEFAULT]\nbind_port = {port}\n{backend_common}\n"
            f"[pipeline:main]\npipeline = {name}-server\n\n"
            f"[app:{name}-server]\nuse = egg:swift#{app}\n"
        )
    filters = "".join(f"[filter:{n}]\nuse = egg:swift#{egg}\n\n" for n, egg in FILTERS.items())
    (etc / "proxy-server.conf").write_text(
        f"[DEFAULT]\nbind_ip = {bind_ip}\nbind_port = {ports.proxy}\nworkers = 0\nuser = root\n"
        f"swift_dir = {etc}\nlog_level = {log_level}\n\n"
        f"[pipeline:main]\npipeline = {PIPELINE}\n\n"
        "[app:proxy-server]\nuse = egg:swift#proxy\naccount_autocreate = true\n"
        # The default (60 s) turns a 15 s brick outage into a minute of 503s.
        "error_suppression_interval = 1\n\n"
        f"[filter:s3api]\nuse = egg:swift#s3api\nlocation = {REGION}\n\n"
        f"[filter:tempauth]\nuse = egg:swift#tempauth\nuser_test_tester = {SECRET_KEY} .admin\n\n"
        f"[filter:cache]\nuse = egg:swift#memcache\nmemcache_servers = 127.0.0.1:{ports.memcached}\n\n"
        + filters
    )


def build_rings(etc: Path, ports: GatewayPorts) -> None:
    """Single-replica account/container/object rings with one device, in one interpreter."""
    run([SYSTEM_PYTHON, "-c", RING_SCRIPT, str(etc), str(ports.account), str(ports.container), str(ports.obj)],
        timeout=60)


def _port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.2):
            return True
    except OSError:
        return False


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(url + "/healthcheck", timeout=1) as response:
            return response.status == 200 and response.read() == b"OK"
    except OSError:
        return False


def start_gateway(client: ClientHost, mount: FuseMount, gateway_dir: Path, ports: GatewayPorts | None = None,
                  timeout: float = START_TIMEOUT_S) -> S3Gateway:
    """Start memcached and the Swift servers in `client` over `mount`; return once S3 answers.

    Raises ConfigError before starting anything when the mount is gone, the client has no local
    namespace, or the gateway folder is in use; HarnessError naming the server and its log tail
    when a server dies or does not answer in time (everything started is stopped again).
    """
    ports = ports or GatewayPorts()
    ns = netns_path(client)
    if not is_mounted(mount.path):
        raise ConfigError(f"{mount.path} is not mounted; mount the volume before starting the S3 gateway")
    if gateway_dir.exists():
        raise ConfigError(f"gateway folder {gateway_dir} already exists; give each gateway its own folder")
    with entered(ns):
        busy = [p for p in (ports.proxy,) if _port_open(client.address, p)]
        busy += [p for p in (ports.account, ports.container, ports.obj, ports.memcached) if _port_open("127.0.0.1", p)]
    if busy:
        raise ConfigError(f"ports {busy} are already in use on {client.name}; is another gateway running there? "
                          f"stop it or pass other GatewayPorts")
    started = time.monotonic()
    etc, logs = gateway_dir / "etc", gateway_dir / "log"
    logs.mkdir(parents=True)
    devices = mount.path / f"swift-{gateway_dir.name}"
    (devices / "d1").mkdir(parents=True)
    render_configs(etc, devices, client.address, ports)
    gateway = S3Gateway(client, mount, gateway_dir, devices, ports)
    commands: dict[str, Sequence[str]] = {
        "memcached": ["memcached", "-u", "nobody", "-l", "127.0.0.1", "-p", str(ports.memcached), "-U", "0", "-m", "64"],
        # -v: log to stdout (our log file) as well; there is no syslog in the namespace.
        **{name: [f"swift-{name}-server", str(etc / f"{name}-server.conf"), "-v"]
           for name in ("account", "container", "object", "proxy")},
    }
    try:
        for name, argv in commands.items():
            if name == "proxy":
                # Only the proxy loads rings at start: build them while the others import.
                build_rings(etc, ports)
            pid_file = gateway_dir / f"{name}.pid"
            client.run(["setsid", "--fork", "unshare", "-m", "--propagation", "private",
                        "sh", "-c", DETACH_SCRIPT, "sh", str(etc), str(logs / f"{name}.log"), str(pid_file), *argv],
                       timeout=15)
            gateway.pids[name] = wait_for(lambda: _read_pid(pid_file), timeout=5, what=f"pid file of {name}")

        def ready() -> bool:
            dead = gateway.dead()
            if dead:
                raise HarnessError(
                    f"S3 gateway on {client.name}: {dead[0]} exited during start; log tail:\n{gateway.log_tail(dead[0])}")
            with entered(ns):
                backends = all(_port_open("127.0.0.1", p) for p in (ports.account, ports.container, ports.obj, ports.memcached))
                return backends and _healthy(gateway.url)

        wait_for(ready, timeout=timeout, interval=0.05, what=f"S3 gateway on {client.name} at {gateway.url}",
                 describe=lambda: f"dead servers: {gateway.dead() or 'none'}")
    except BaseException:
        gateway.stop()
        raise
    gateway.start_seconds = time.monotonic() - started
    log.info("S3 gateway on %s at %s up in %.2f s", client.name, gateway.url, gateway.start_seconds)
    return gateway


def _read_pid(path: Path) -> int | None:
    try:
        return int(path.read_text().strip())
    except (FileNotFoundError, ValueError):
        return None
