"""The hosts of a k8s-local cluster: a holder process per host (its network and mount namespaces),
the daemons spawned in it, and the configuration of a node's containerd and CNI."""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Sequence

from ..host import netns
from ..host.cgroups import join_cgroup
from ...runner import CommandResult, run
from ...waiting import wait_for
from . import build as k8s_build
from .plan import Host

CNI_BIN = "/usr/lib/cni"
CONTAINERD_SOCKET = "/run/containerd/containerd.sock"


def start_holder(host: Host, host_dir: Path, cgroup: str) -> int:
    """The host's init in its netns and its own mount namespace; returns its pid."""
    for sub in ("var-lib", "var-log", "opt", "logs"):
        (host_dir / sub).mkdir(parents=True, exist_ok=True)
    ready = host_dir / "holder.pid"
    script = (f"mount --bind {host_dir}/var-lib /var/lib && mount --bind {host_dir}/var-log /var/log && "
              f"mount --bind {host_dir}/opt /opt && mount -t tmpfs tmpfs /run && "
              f'exec "$0" {netns.NODEINIT} {ready} {netns.control_fifo(host_dir)} {host_dir / "logs" / "init.log"}')
    run(["setsid", "--fork", "nsenter", f"--net=/run/netns/{host.namespace}", "unshare", "-m", "--propagation",
         "slave", "sh", "-c", script, sys.executable], timeout=15, log_to=host_dir / "logs" / "holder.log")
    pid = int(wait_for(lambda: ready.exists() and ready.read_text(), timeout=15, interval=0.01,
                       what=f"the holder of {host.name}"))
    join_cgroup(pid, cgroup)
    return pid


def spawn(host_dir: Path, name: str, argv: Sequence[str]) -> None:
    """Start a daemon in the host (its init reaps it), its output in logs/<name>.log."""
    log_file = host_dir / "logs" / f"{name}.log"
    netns.spawn_in_node(host_dir, ["sh", "-c", f'exec "$@" >>{log_file} 2>&1', name, *map(str, argv)])


def in_host(holder: int, argv: Sequence[str], timeout: float = 60.0, check: bool = True) -> CommandResult:
    return run(["nsenter", "-t", str(holder), "-n", "-m", *map(str, argv)], timeout=timeout, check=check)


def containerd_config(node_dir: Path) -> str:
    return f"""version = 2
root = "/var/lib/containerd"
state = "/run/containerd"
[grpc]
  address = "{CONTAINERD_SOCKET}"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "{k8s_build.PAUSE_TAG}"
  # root here lacks CAP_SYS_RESOURCE: a negative oom_score_adj would make every runc create fail.
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "{CNI_BIN}"
    conf_dir = "{node_dir / 'cni'}"
  [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
    runtime_type = "io.containerd.runc.v2"
"""


def cni_config(subnet: str, pod_cidr: str) -> dict:
    return {"cniVersion": "0.4.0", "name": "k8s-local", "plugins": [{
        "type": "bridge", "bridge": "cni0", "isGateway": True, "ipMasq": False, "hairpinMode": True,
        # Only the cluster's own /24 is routed: a pod has no way out, like the nodes.
        "ipam": {"type": "host-local", "ranges": [[{"subnet": pod_cidr}]], "routes": [{"dst": subnet}]},
    }]}
