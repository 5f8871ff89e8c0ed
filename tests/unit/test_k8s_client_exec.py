"""Kubeconfig/context handling and pod exec, against the FAKE Kubernetes API server."""
from __future__ import annotations

import functools
import threading

import pytest
import yaml

from harness.errors import CommandError, ConfigError, HarnessError
from harness.providers.k8s.client import connect, resolve_kubeconfig
from harness.providers.k8s.manifests import StackSettings, glusterd_daemonset, namespace
from harness.providers.k8s.podexec import STDIN_FROM_ARGUMENT, PodExec, exit_code_from_status
from harness.providers.k8s.stack import apply
from tests.fake_kube_api import ExecReply, FakeKubeApi, seed_gluster_nodes


@pytest.fixture
def fake():
    with FakeKubeApi() as api:
        yield api


@pytest.fixture
def pod(fake, tmp_path):
    """A kubeconfig, the API clients, and the name of one gluster pod on the fake."""
    seed_gluster_nodes(fake, [("w1", "198.18.9.11", "zone-a")])
    api = connect(fake.write_kubeconfig(tmp_path / "kc"), None)
    settings = StackSettings("glh-t")
    apply(api, [namespace(settings), glusterd_daemonset(settings)])
    name = api.core.list_namespaced_pod("glusterfs").items[0].metadata.name
    yield api, name
    api.close()


def test_missing_kubeconfig_is_a_config_error_naming_the_path_and_option(tmp_path, monkeypatch):
    monkeypatch.delenv("KUBECONFIG", raising=False)
    with pytest.raises(ConfigError, match=r"kubeconfig .*nope.* does not exist.*--kubeconfig"):
        connect(tmp_path / "nope", None)
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "from-env"))
    with pytest.raises(ConfigError, match=r"from-env \(from \$KUBECONFIG\)"):
        resolve_kubeconfig(None)


def test_unknown_context_lists_the_contexts_there(fake, tmp_path):
    kc = fake.write_kubeconfig(tmp_path / "kc", "fake", extra_contexts=("staging",))
    with pytest.raises(ConfigError, match=r"context 'prod' is not in kubeconfig .*contexts there: fake, staging"):
        connect(kc, "prod")


def test_kubeconfig_without_current_context_asks_for_one(fake, tmp_path):
    kc = fake.write_kubeconfig(tmp_path / "kc")
    data = yaml.safe_load(kc.read_text())
    del data["current-context"]
    kc.write_text(yaml.safe_dump(data))
    with pytest.raises(ConfigError, match="no current-context; pass --kube-context"):
        connect(kc, None)
    api = connect(kc, "fake")  # naming the context works
    assert api.core.list_node().items == []
    api.close()


def test_unreadable_kubeconfig_is_a_config_error(tmp_path):
    kc = tmp_path / "kc"
    kc.write_text("just: [a, list\n")
    with pytest.raises(ConfigError, match="cannot be read"):
        connect(kc, None)


def test_exec_leaves_the_shared_api_client_alone(fake, pod):
    """`stream` swaps its client's request method while an exec runs: on the shared client, a REST call
    of another thread meanwhile (and every one after concurrent execs) went through the websocket."""
    api, name = pod
    during = []
    fake.exec_handler = lambda c: during.append(isinstance(api.core.api_client.request, functools.partial)) or \
        ExecReply(0, b"", b"")
    PodExec(api.core)("glusterfs", name, ["true"], timeout=10)
    assert during == [False]
    assert api.core.list_namespaced_pod("glusterfs").items


def test_exec_returns_stdout_stderr_exit_code_and_passes_input_as_an_argument(fake, pod):
    api, name = pod
    fake.exec_handler = lambda c: ExecReply(0 if c.argv[-1] == "cat" else 3, c.argv[-2].encode(), b"warn")
    runner = PodExec(api.core)
    result = runner("glusterfs", name, ["cat"], timeout=10, input="hello\n")
    assert (result.returncode, result.stdout, result.stderr, result.argv) == (0, "hello\n", "warn", ("cat",))
    # No stdin stream: a v4 exec cannot close it, and `cat` would wait for ever.
    assert fake.exec_calls[-1].argv == ("sh", "-c", STDIN_FROM_ARGUMENT, "sh", "hello\n", "cat")
    assert fake.exec_calls[-1].stdin is None and fake.exec_calls[-1].node == "w1"
    fake.exec_handler = lambda c: ExecReply(3, b"out", b"warn")
    failed = runner("glusterfs", name, ["false", "--flag"], timeout=10, check=False)
    assert failed.returncode == 3 and failed.argv == ("false", "--flag")
    with pytest.raises(CommandError, match=r"on node w1: false exited 3"):
        runner("glusterfs", name, ["false"], timeout=10, where="node w1")


def test_exec_timeout_gives_minus_nine_like_local_commands(fake, pod):
    api, name = pod
    release = threading.Event()

    def slow(call):
        release.wait(10)
        return ExecReply(0, b"late")

    fake.exec_handler = slow
    try:
        result = PodExec(api.core)("glusterfs", name, ["sleep", "60"], timeout=0.5, check=False)
    finally:
        release.set()
    assert result.returncode == -9 and "timed out after 0.5 s" in result.stderr


def test_exec_in_a_missing_pod_says_which_pod(pod):
    api, _ = pod
    with pytest.raises(HarnessError, match=r"cannot exec in pod glusterfs/gone .*404.*is the pod running"):
        PodExec(api.core)("glusterfs", "gone", ["true"], timeout=5)


@pytest.mark.parametrize("raw, expected", [
    ('{"metadata":{},"status":"Success"}', 0),
    ('{"status":"Failure","reason":"NonZeroExitCode","details":{"causes":[{"reason":"ExitCode","message":"42"}]}}', 42),
    ('{"status":"Failure","message":"executable file not found in $PATH"}', 126),
    ("", -1),
    ("not json", -1),
])
def test_exit_code_from_the_status_channel(raw, expected):
    assert exit_code_from_status(raw)[0] == expected
