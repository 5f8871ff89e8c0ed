"""The k8s-local provider on this machine: a real Kubernetes (built by `make k8s`), nodes Ready in
their zones, and the host exactly as found once it is gone (down, a failed start, a crash)."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from harness.providers.host import registry
from harness.providers.k8s_local import build
from harness.providers.host.cgroups import CGROUP_FS, cgroup_dirs, make_cgroup
from harness.providers.k8s_local.cluster import K8sLocalProvider
from harness.providers.host.teardown import leftovers, sweep_stale

from ..conftest import REPO, harness_command
from .conftest import k8s_built

pytestmark = k8s_built

# Host-global settings kubelet changes at start unless told not to (and what the CNI setup touches).
SYSCTLS = ("vm/overcommit_memory", "vm/panic_on_oom", "kernel/panic", "kernel/panic_on_oops",
           "kernel/keys/root_maxkeys", "kernel/keys/root_maxbytes", "net/ipv4/ip_forward",
           "net/bridge/bridge-nf-call-iptables")
OTHER_RUN = re.compile(r"/glh(\d+)(?=[-/]|$)")


def host_snapshot() -> dict:
    """What a cluster must leave as found: host sysctls, root-namespace iptables, mount points and
    cgroups (the top of each hierarchy, where a run's tree starts)."""
    sysctls = {k: Path("/proc/sys", k).read_text().strip() for k in SYSCTLS if Path("/proc/sys", k).exists()}
    rules = {}
    for tool in ("iptables-save", "ip6tables-save"):
        out = subprocess.run([tool], capture_output=True, text=True, timeout=30, check=True).stdout
        rules[tool] = [re.sub(r"\[\d+:\d+\]", "", line) for line in out.splitlines() if not line.startswith("#")]
    with open("/proc/self/mountinfo") as fh:
        mounts = sorted(line.split()[4] for line in fh)
    cgroups = sorted(str(p) for h in CGROUP_FS.iterdir() if h.is_dir() for p in h.iterdir() if p.is_dir())
    return {"sysctls": sysctls, "iptables": rules, "mounts": mounts, "cgroups": cgroups}


def diff(before: dict, after: dict, index: int) -> dict:
    """What changed, but mounts and cgroups of other harness runs (other glh<N>, e.g. other xdist
    workers'), which come and go meanwhile."""
    def ours_or_host(path: str) -> bool:
        return all(int(m) == index for m in OTHER_RUN.findall(path))

    def seen(snapshot: dict) -> dict:
        return {k: [p for p in v if ours_or_host(p)] if k in ("mounts", "cgroups") else v
                for k, v in snapshot.items()}

    before, after = seen(before), seen(after)
    return {k: (before[k], after[k]) for k in before if before[k] != after[k]}


def test_snapshot_sees_a_mount_and_a_cgroup_left_behind(tmp_path):
    """Negative control: the snapshot comparison reports what a leaky teardown would leave."""
    index = registry.MAX_CLUSTERS  # a slot no run can claim, whatever other workers start meanwhile
    run_id = f"glh{index}"
    before = host_snapshot()
    point = tmp_path / "mnt"
    point.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "tmpfs", str(point)], check=True, timeout=30)
    make_cgroup(f"{run_id}-k8slocal/leak")
    try:
        changed = diff(before, host_snapshot(), index)
        assert str(point) in changed["mounts"][1]
        assert any(c.endswith(f"{run_id}-k8slocal") for c in changed["cgroups"][1])
    finally:
        subprocess.run(["umount", str(point)], check=True, timeout=30)
        for d in cgroup_dirs(run_id):
            d.rmdir()
    assert diff(before, host_snapshot(), index) == {}


def test_cluster_up_nodes_ready_in_zones_and_host_left_as_found():
    before = host_snapshot()
    cluster = K8sLocalProvider(nodes=3, zones=3).up()
    try:
        assert cluster.kubeconfig.is_file()
        nodes = cluster.node_status()
        assert sorted((n["name"], n["zone"], n["ready"]) for n in nodes) == [
            ("node1", "zone-a", True), ("node2", "zone-b", True), ("node3", "zone-c", True)]
        version = json.loads(cluster.kubectl("version", "-o", "json").stdout)["serverVersion"]["gitVersion"]
        assert version == build.KUBE_VERSION
        # kubelet is running and left the host's kernel settings alone.
        assert host_snapshot()["sysctls"] == before["sysctls"]
    finally:
        cluster.down()
    assert leftovers(cluster.run_id, cluster.root) == []
    assert diff(before, host_snapshot(), cluster.plan.index) == {}


def test_a_failed_start_removes_what_it_made(monkeypatch):
    before = host_snapshot()
    made = {}

    def fail_on_node(self, cluster, node, built):
        made["run_id"], made["root"] = cluster.run_id, cluster.root
        raise RuntimeError("node start failed on purpose")

    monkeypatch.setattr(K8sLocalProvider, "_start_node", fail_on_node)
    with pytest.raises(RuntimeError, match="on purpose"):
        K8sLocalProvider(nodes=2, zones=2).up()
    assert made, "the start did not get as far as the nodes"
    assert leftovers(made["run_id"], made["root"]) == []
    assert diff(before, host_snapshot(), registry.index_of_namespace(made["run_id"] + "-")) == {}


BRING_UP_AND_HANG = textwrap.dedent("""
    import json, time
    from harness.providers.k8s_local.cluster import K8sLocalProvider
    cluster = K8sLocalProvider(nodes=1, zones=1).up()
    print(json.dumps({"run_id": cluster.run_id, "root": str(cluster.root), "index": cluster.plan.index}), flush=True)
    time.sleep(3600)
""")


def test_cleanup_removes_a_crashed_runs_cluster():
    before = host_snapshot()
    proc = subprocess.Popen([sys.executable, "-c", BRING_UP_AND_HANG], stdout=subprocess.PIPE, text=True, cwd=REPO)
    line = proc.stdout.readline()
    assert line, f"the doomed run did not start (exit {proc.wait()})"
    state = json.loads(line)
    # Under the registry's lock, so that no other worker's `up` (which sweeps stale runs first) removes
    # the crashed run before the clean-up this test is about: `cleanup` runs exactly this sweep.
    with registry.locked():
        proc.kill()
        proc.wait()
        assert leftovers(state["run_id"], Path(state["root"])), "a SIGKILLed run should leave its cluster behind"
        assert state["run_id"] in sweep_stale()
    result = subprocess.run(harness_command("cleanup"), capture_output=True, text=True, timeout=120, cwd=REPO,
                            env={**os.environ})
    assert result.returncode == 0, result.stderr
    assert state["run_id"] not in result.stdout  # nothing of it left to remove
    assert leftovers(state["run_id"], Path(state["root"])) == []
    assert diff(before, host_snapshot(), state["index"]) == {}
