"""Effectful namespace steps for the local provider: switch, hosts, holders, teardown."""
from __future__ import annotations

import json
import os
import signal
import sys
import time
from pathlib import Path

from ...errors import HarnessError
from ...runner import run

IP_TIMEOUT_S = 15.0
NODEINIT = Path(__file__).with_name("nodeinit.py")
# Where distributions install geo-replication's gsyncd (Debian's glusterfs-common, Fedora's libexec).
GSYNCD_PATHS = ("/usr/lib/x86_64-linux-gnu/glusterfs/gsyncd", "/usr/libexec/glusterfs/gsyncd")
# A script whose interpreter does not exist: exec fails with ENOENT, as for a missing file.
GSYNCD_ABSENT = "#!/nonexistent/geo-replication-not-installed-in-this-node\n"


def existing_namespaces() -> list[str]:
    out = run(["ip", "netns", "list"], timeout=IP_TIMEOUT_S).stdout
    return [line.split()[0] for line in out.splitlines() if line.strip()]


def create_switch(namespace: str) -> None:
    """A namespace holding only a bridge: nodes are wired to it, and nothing routes out."""
    run(["ip", "netns", "add", namespace], timeout=IP_TIMEOUT_S)
    run(["ip", "-n", namespace, "link", "add", "br0", "type", "bridge"], timeout=IP_TIMEOUT_S)
    run(["ip", "-n", namespace, "link", "set", "br0", "up"], timeout=IP_TIMEOUT_S)


def add_host(switch: str, namespace: str, port: str, address: str, prefix_len: int = 24) -> None:
    """Create `namespace` with eth0 (address/prefix_len, no default route) plugged into the switch."""
    run(["ip", "netns", "add", namespace], timeout=IP_TIMEOUT_S)
    # Both veth ends are made inside namespaces, so the host's own interfaces are never touched.
    run(["ip", "-n", switch, "link", "add", port, "type", "veth", "peer", "name", "eth0", "netns", namespace],
        timeout=IP_TIMEOUT_S)
    run(["ip", "-n", switch, "link", "set", port, "master", "br0", "up"], timeout=IP_TIMEOUT_S)
    run(["ip", "-n", namespace, "addr", "add", f"{address}/{prefix_len}", "dev", "eth0"], timeout=IP_TIMEOUT_S)
    run(["ip", "-n", namespace, "link", "set", "eth0", "up"], timeout=IP_TIMEOUT_S)
    run(["ip", "-n", namespace, "link", "set", "lo", "up"], timeout=IP_TIMEOUT_S)


def start_holder(namespace: str, node_dir: Path, timeout: float = 10.0) -> int:
    """Start the node's init (harness/providers/host/nodeinit.py): it owns the node's private mount namespace.

    The node's glusterd state, logs and /run are bind-mounted from node_dir, so each node has its
    own /var/lib/glusterd and /var/run/glusterd.socket. Nodes run without geo-replication, like an
    image built without its package: glusterd runs gsyncd 23 times at every start when it is present
    (one Python start each: 2 s on an idle machine, over 10 s on a loaded one), and skips that when
    exec says ENOENT. Returns the holder's pid. It is started
    detached (setsid --fork) so it is never our child. Daemons are started through it
    (`spawn_in_node`) so that it, as their subreaper, reaps them the moment they die.
    """
    for sub in ("glusterd", "log"):
        (node_dir / sub).mkdir(parents=True, exist_ok=True)
    gsyncd_absent = node_dir / "gsyncd-absent"
    gsyncd_absent.write_text(GSYNCD_ABSENT)
    gsyncd_absent.chmod(0o755)
    ready = node_dir / "holder.pid"
    ready.unlink(missing_ok=True)
    control_fifo(node_dir).unlink(missing_ok=True)
    script = (
        f"mount --bind {node_dir}/glusterd /var/lib/glusterd && "
        f"mount --bind {node_dir}/log /var/log/glusterfs && "
        "mount -t tmpfs tmpfs /run && mkdir -p /run/gluster && "
        f"for f in {' '.join(GSYNCD_PATHS)}; do if [ -e $f ]; then mount --bind {gsyncd_absent} $f || exit 1; fi; done && "
        f'exec "$0" {NODEINIT} {ready} {control_fifo(node_dir)} {node_dir / "daemons.log"}'
    )
    run(["setsid", "--fork", "nsenter", f"--net=/run/netns/{namespace}",
         "unshare", "-m", "--propagation", "private", "sh", "-c", script, sys.executable], timeout=timeout,
        log_to=node_dir / "holder.log")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if ready.exists():
            return int(ready.read_text())
        time.sleep(0.01)
    raise HarnessError(f"node holder in {namespace} did not come up within {timeout} s (see {node_dir}/holder.log)")


def control_fifo(node_dir: Path) -> Path:
    return node_dir / "control.fifo"


def spawn_in_node(node_dir: Path, argv: list[str]) -> None:
    """Ask the node's init to start argv detached inside the node (it becomes the daemon's reaper)."""
    fd = os.open(control_fifo(node_dir), os.O_WRONLY | os.O_NONBLOCK)
    try:
        os.write(fd, (json.dumps(argv) + "\n").encode())
    finally:
        os.close(fd)


def namespace_pids(namespace: str) -> list[int]:
    result = run(["ip", "netns", "pids", namespace], timeout=IP_TIMEOUT_S, check=False)
    return [int(p) for p in result.stdout.split()] if result.ok else []


def is_alive(pid: int) -> bool:
    """True while the process exists and is not a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def kill_pids(pids: list[int], timeout: float = 10.0) -> None:
    """SIGKILL pids (continuing stopped ones first) and wait until they are gone."""
    for pid in pids:
        for sig in (signal.SIGCONT, signal.SIGKILL):
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                break
    deadline = time.monotonic() + timeout
    while any(is_alive(p) for p in pids):
        if time.monotonic() > deadline:
            alive = [p for p in pids if is_alive(p)]
            raise HarnessError(f"processes {alive} survived SIGKILL for {timeout} s")
        time.sleep(0.01)


def delete_namespace(namespace: str) -> None:
    """Kill everything in the namespace, then delete it. Idempotent."""
    if namespace not in existing_namespaces():
        return
    kill_pids(namespace_pids(namespace))
    run(["ip", "netns", "del", namespace], timeout=IP_TIMEOUT_S)
