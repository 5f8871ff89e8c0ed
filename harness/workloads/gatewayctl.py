"""The S3 gateway's processes seen from inside its client host, where the harness sends this file to
run with the client's python3 (stdlib only: a pod has no harness). One JSON line on stdout.

  busy ADDRESS PROXY_PORT BACKEND_PORT...   the ports something already listens on
  probe URL PORT,... NAME=PID...            which servers are gone, and whether S3 answers with every
                                            backend listening on the loopback
  stop TIMEOUT NAME=PID...                  SIGTERM all, SIGKILL those left after TIMEOUT s; wait
"""
import json
import os
import signal
import socket
import sys
import time
import urllib.request


def listening(host, port):
    try:
        with socket.create_connection((host, port), timeout=0.2):
            return True
    except OSError:
        return False


def alive(pid):
    """Exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def healthy(url):
    try:
        with urllib.request.urlopen(url + "/healthcheck", timeout=1) as response:
            return response.status == 200 and response.read() == b"OK"
    except OSError:
        return False


def servers(args):
    return {name: int(pid) for name, pid in (a.split("=", 1) for a in args)}


def signal_all(pids, sig):
    for pid in pids:
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            pass


def main(op, *args):
    if op == "busy":
        address, proxy, *backends = args
        busy = [int(proxy)] if listening(address, int(proxy)) else []
        return busy + [int(p) for p in backends if listening("127.0.0.1", int(p))]
    if op == "probe":
        url, backends, named = args[0], [int(p) for p in args[1].split(",")], servers(args[2:])
        dead = [name for name, pid in named.items() if not alive(pid)]
        # The proxy answers /healthcheck itself: the backends must be listening too.
        ready = not dead and all(listening("127.0.0.1", p) for p in backends) and healthy(url)
        return {"dead": dead, "ready": ready}
    if op == "stop":
        timeout, named = float(args[0]), servers(args[1:])
        signal_all(named.values(), signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while any(alive(p) for p in named.values()) and time.monotonic() < deadline:
            time.sleep(0.05)
        killed = [name for name, pid in named.items() if alive(pid)]
        signal_all([named[n] for n in killed], signal.SIGKILL)
        deadline = time.monotonic() + timeout
        while any(alive(p) for p in named.values()) and time.monotonic() < deadline:
            time.sleep(0.05)
        return {"killed": killed, "left": [name for name, pid in named.items() if alive(pid)]}
    raise SystemExit(f"unknown op {op!r}")


if __name__ == "__main__":
    print(json.dumps(main(*sys.argv[1:])))
