"""The S3 gateway's pieces that need no cluster: the process control it runs in a client host (run
here, on real processes), and its generated configuration."""
from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time

import pytest

from harness.errors import ConfigError
from harness.workloads import gatewayctl
from harness.workloads.s3config import GatewayPorts, render_configs


def control(*args: str) -> dict | list:
    out = subprocess.run([sys.executable, gatewayctl.__file__, *args], capture_output=True, text=True, timeout=60,
                         check=True)
    return json.loads(out.stdout)


@pytest.fixture
def sleeper():
    processes = []

    def start(ignore_term: bool = False) -> subprocess.Popen:
        code = "import signal, time\n" + ("signal.signal(signal.SIGTERM, signal.SIG_IGN)\n" if ignore_term else "")
        process = subprocess.Popen([sys.executable, "-c", code + "print(flush=True)\ntime.sleep(120)"],
                                   stdout=subprocess.PIPE)
        process.stdout.readline()  # its handler is set
        processes.append(process)
        return process

    yield start
    for process in processes:
        process.kill()
        process.wait()


def test_probe_names_a_dead_server_and_is_not_ready(sleeper):
    alive, gone = sleeper(), sleeper()
    gone.kill()
    gone.wait()
    state = control("probe", "http://127.0.0.1:9", "9", f"proxy={alive.pid}", f"object={gone.pid}")
    assert state == {"dead": ["object"], "ready": False}


def test_probe_is_not_ready_while_a_backend_is_not_listening(sleeper):
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        # the "proxy" listens but does not answer /healthcheck: not ready, nothing dead
        state = control("probe", f"http://127.0.0.1:{port}", str(port), f"proxy={sleeper().pid}")
    assert state == {"dead": [], "ready": False}


def test_busy_lists_the_ports_something_listens_on():
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        with socket.socket() as free:
            free.bind(("127.0.0.1", 0))
            unused = free.getsockname()[1]  # bound, not listening
            assert control("busy", "127.0.0.1", str(unused), str(port)) == [port]


def test_stop_ends_every_server_and_names_those_it_had_to_kill(sleeper):
    polite, stubborn = sleeper(), sleeper(ignore_term=True)
    started = time.monotonic()
    assert control("stop", "1", f"memcached={polite.pid}", f"proxy={stubborn.pid}") == {"killed": ["proxy"],
                                                                                         "left": []}
    assert time.monotonic() - started < 30
    assert polite.wait(5) == -signal.SIGTERM and stubborn.wait(5) == -signal.SIGKILL


def test_configs_name_the_client_side_folders_and_the_ports():
    configs = render_configs("/tmp/harness-s3.x/etc", "/mnt/v/swift-gw", "198.18.0.101", GatewayPorts(proxy=8081))
    assert set(configs) == {"swift.conf", "proxy-server.conf", "account-server.conf", "container-server.conf",
                            "object-server.conf"}
    assert "swift_dir = /tmp/harness-s3.x/etc" in configs["object-server.conf"]
    assert "devices = /mnt/v/swift-gw" in configs["object-server.conf"]
    proxy = configs["proxy-server.conf"]
    assert "bind_ip = 198.18.0.101\nbind_port = 8081" in proxy and "error_suppression_interval = 1" in proxy


def test_clashing_ports_are_refused():
    with pytest.raises(ConfigError, match="distinct"):
        GatewayPorts(proxy=6200)
