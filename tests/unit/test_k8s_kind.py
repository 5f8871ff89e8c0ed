"""The kind provider's logic: config, create/reuse/delete through an injected kind/docker runner,
stack deployment and peer probing against the FAKE API server (gluster answers faked: FakeGlusterPool)."""
from __future__ import annotations

import os
import tarfile
from pathlib import Path

import pytest
import yaml

from harness.cluster import ZONE_LABEL
from harness.errors import ConfigError, MissingPrerequisite, WaitTimeout
from harness.control import Capability
from harness.providers.k8s.options import K8sOptions
from harness.providers import make_provider
from harness.providers.k8s.kind import KindProvider, find_kind, kind_config
from harness.gluster.cli import GlusterError
from tests.fake_kube_api import ExecReply, FakeGlusterPool, FakeKindAndDocker, FakeKubeApi


@pytest.fixture
def env(tmp_path):
    """A fake API, fake gluster answers, a fake kind/docker runner, and a `kind` file on disk."""
    with FakeKubeApi() as fake:
        pool = FakeGlusterPool(fake)
        fake.exec_handler = pool
        runner = FakeKindAndDocker(fake, pool)
        kind = tmp_path / "bin" / "kind"
        kind.parent.mkdir()
        kind.write_text("#!/bin/sh\nexit 99\n")  # never executed: the runner is injected
        kind.chmod(0o755)
        yield fake, pool, runner, kind


def provider(tmp_path, runner, kind, nodes=3, zones=3, clients=2, **options) -> KindProvider:
    # A registry's image by default: the build's own (loaded into kind) is test_loads_an_image_archive...
    options = {"kind_cluster_name": "glh-kind", "gluster_image": "registry.example/gluster:test", **options}
    opts = K8sOptions(kind_binary=str(kind), ready_timeout_s=10, **options)
    return KindProvider(nodes=nodes, zones=zones, clients=clients, root=tmp_path / "root", options=opts, runner=runner)


def test_kind_config_has_a_control_plane_and_zoned_storage_workers_with_mounts(tmp_path):
    config = kind_config("c1", 4, 2, {"storagenode": "glusterfs"}, tmp_path, node_image="kindest/node:v1.31.0")
    assert config["kind"] == "Cluster" and config["apiVersion"] == "kind.x-k8s.io/v1alpha4"
    roles = [n["role"] for n in config["nodes"]]
    assert roles == ["control-plane", "worker", "worker", "worker", "worker"]
    workers = config["nodes"][1:]
    assert [w["labels"][ZONE_LABEL] for w in workers] == ["zone-a", "zone-b", "zone-a", "zone-b"]
    assert all(w["labels"]["storagenode"] == "glusterfs" for w in workers)
    assert [w["extraMounts"][0]["hostPath"] for w in workers] == [str(tmp_path / f"worker{i}") for i in range(1, 5)]
    assert {w["extraMounts"][0]["containerPath"] for w in workers} == {"/var/lib/glusterharness"}
    assert all(n["image"] == "kindest/node:v1.31.0" for n in config["nodes"])
    assert "image" not in kind_config("c1", 1, 1, {}, tmp_path)["nodes"][0]


def test_creates_the_cluster_deploys_gluster_probes_peers_and_deletes_at_the_end(tmp_path, env):
    fake, pool, runner, kind = env
    cluster = provider(tmp_path, runner, kind).up()
    tools = [(Path(c[0]).name, *c[1:3]) for c in runner.calls]
    assert tools[:3] == [("docker", "info", "--format"), ("kind", "get", "clusters"), ("kind", "create", "cluster")]
    written = yaml.safe_load((tmp_path / "root/kind/glh-kind/kind-config.yaml").read_text())
    assert len(written["nodes"]) == 4
    assert [(n.name, n.zone) for n in cluster.nodes] == [
        ("glh-kind-worker", "zone-a"), ("glh-kind-worker2", "zone-b"), ("glh-kind-worker3", "zone-c")]
    assert [c.name for c in cluster.clients] == ["gluster-client-0", "gluster-client-1"]
    assert pool.pooled == {n.address for n in cluster.nodes}  # peer probe went through pod exec
    probes = [c for c in fake.exec_calls if "probe" in c.argv]
    assert {c.node for c in probes} == {"glh-kind-worker"} and len(probes) == 2
    # Peers by stable node names, which every glusterd pod resolves through the DaemonSet's host aliases.
    assert sorted(c.argv[c.argv.index("probe") + 1] for c in probes) == ["glh-kind-worker2", "glh-kind-worker3"]
    aliases = fake.get("daemonsets", "glusterd", "glusterfs")["spec"]["template"]["spec"]["hostAliases"]
    assert {a["hostnames"][0]: a["ip"] for a in aliases} == {n.name: n.address for n in cluster.nodes}
    assert fake.get("daemonsets", "glusterd", "glusterfs") is not None
    assert not any(c[1] == "load" for c in runner.calls)  # a registry's image is pulled, not loaded
    assert Capability.NODE_CONTAINER_FAULTS in cluster.capabilities
    cluster.down()
    assert runner.calls[-1][1:3] == ("delete", "cluster") and "glh-kind" not in runner.clusters
    assert not (tmp_path / "root/kind/glh-kind").exists()


def test_reuses_a_cluster_of_the_same_name_and_keep_leaves_it(tmp_path, env):
    fake, pool, runner, kind = env
    first = provider(tmp_path, runner, kind).up()
    first.keep()
    assert "glh-kind" in runner.clusters
    runner.calls.clear()
    second = provider(tmp_path, runner, kind).up()
    verbs = [c[1:3] for c in runner.calls if Path(c[0]).name == "kind"]
    assert ("create", "cluster") not in verbs and ("export", "kubeconfig") in verbs
    assert [n.name for n in second.nodes] == [n.name for n in first.nodes]
    second.down()
    assert "glh-kind" not in runner.clusters


def test_missing_kind_binary_is_reported_before_anything_runs(tmp_path, env, monkeypatch):
    fake, pool, runner, kind = env
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(MissingPrerequisite, match=r"kind binary not found \(`kind` on PATH\).*--kind-binary"):
        find_kind(None)
    p = provider(tmp_path, runner, tmp_path / "no" / "kind")
    with pytest.raises(MissingPrerequisite, match=r"kind binary not found \(--kind-binary .*/no/kind\)"):
        p.up()
    assert runner.calls == [] and not (tmp_path / "root").exists()
    monkeypatch.setenv("PATH", f"{kind.parent}{os.pathsep}{os.environ['PATH']}")
    assert find_kind(None) == str(kind)


def test_container_engine_down_is_reported_before_kind_runs(tmp_path, env):
    fake, pool, runner, kind = env
    runner.engine_ok = False
    with pytest.raises(MissingPrerequisite, match="needs a running container engine.*Cannot connect to the Docker"):
        provider(tmp_path, runner, kind).up()
    assert [Path(c[0]).name for c in runner.calls] == ["docker"] and not (tmp_path / "root").exists()


@pytest.mark.parametrize("kw, message", [
    ({"zones": 4}, "--gluster-zones 4 is more than --gluster-nodes 3"),
    ({"node_selector": "storagenode!=x"}, "must be key=value pairs only"),
    ({"kind_cluster_name": "Bad_Name"}, "kind cluster name 'Bad_Name'"),
])
def test_bad_input_is_a_config_error_before_anything_runs(tmp_path, env, kw, message):
    fake, pool, runner, kind = env
    zones = kw.pop("zones", 3)
    with pytest.raises(ConfigError, match=message):
        provider(tmp_path, runner, kind, zones=zones, **kw).up()
    assert runner.calls == [] and fake.requests == []


def test_a_failure_after_creating_deletes_the_new_cluster(tmp_path, env):
    fake, pool, runner, kind = env
    fake.exec_handler = lambda call: ExecReply(1, b"", b"glusterd not running\n")
    with pytest.raises((WaitTimeout, GlusterError)):
        provider(tmp_path, runner, kind).up()
    assert runner.calls[-1][1:3] == ("delete", "cluster") and runner.clusters == []


def test_make_provider_wires_kind_and_existing_options(tmp_path):
    opts = K8sOptions(kind_binary="/opt/kind", kubeconfig="/k", kube_context="c", allow_destructive_faults=True)
    kind = make_provider("kind", nodes=3, zones=3, clients=1, root=tmp_path, k8s=opts)
    existing = make_provider("existing", nodes=3, zones=3, clients=1, root=tmp_path, k8s=opts)
    assert isinstance(kind, KindProvider) and kind.options is opts
    assert type(existing).__name__ == "ExistingProvider" and existing.options is opts


def test_reuse_restores_node_containers_a_crashed_run_left_paused_or_stopped(tmp_path, env):
    fake, pool, runner, kind = env
    first = provider(tmp_path, runner, kind).up()
    first.keep()
    # what a SIGKILLed run in the middle of a hang and a crash fault leaves behind
    runner(["docker", "pause", "glh-kind-worker2"], timeout=5)
    runner(["docker", "kill", "glh-kind-worker3"], timeout=5)
    assert pool.down == {first.node("glh-kind-worker2").address, first.node("glh-kind-worker3").address}
    runner.calls.clear()
    second = provider(tmp_path, runner, kind).up()
    assert ("docker", "unpause", "glh-kind-worker2") in runner.calls
    assert ("docker", "start", "glh-kind-worker3") in runner.calls
    assert set(runner.containers.values()) == {"running"} and pool.down == set()
    second.down()


def test_loads_an_image_archive_into_the_nodes_instead_of_pulling(tmp_path, env):
    """No registry: an image the harness holds (`make k8s` builds them; here one's own docker-archive)
    goes onto every node with `kind load image-archive`, and the pods name its tag."""
    from harness.providers.k8s_local.image_archive import pack_image

    fake, pool, runner, kind = env
    layer = tmp_path / "layer.tar"
    with tarfile.open(layer, "w"):
        pass
    archive = tmp_path / "mine.tar"
    pack_image(layer, "example/gluster:mine", {}, archive)
    cluster = provider(tmp_path, runner, kind, gluster_image=str(archive)).up()
    assert (Path(kind).name, "load", "image-archive", str(archive), "--name", "glh-kind") in [
        (Path(c[0]).name, *c[1:]) for c in runner.calls]
    containers = fake.get("daemonsets", "glusterd", "glusterfs")["spec"]["template"]["spec"]["containers"]
    assert containers[0]["image"] == "example/gluster:mine"
    cluster.down()
