"""The Kubernetes providers' options in the pytest plugin, black-box through pytester."""
from __future__ import annotations

import pytest

pytestmark = pytest.mark.usefixtures("isolated_reports")


@pytest.fixture
def isolated_reports(pytester, monkeypatch):
    monkeypatch.setenv("GLUSTER_REPORT_DIR", str(pytester.path / "reports"))


def test_kubernetes_options_from_environment_and_command_line(pytester, monkeypatch):
    monkeypatch.setenv("GLUSTER_KUBECONFIG", "/env/kubeconfig")
    monkeypatch.setenv("GLUSTER_KUBE_CONTEXT", "env-context")
    monkeypatch.setenv("GLUSTER_NODE_SELECTOR", "role=storage")
    monkeypatch.setenv("GLUSTER_ALLOW_DESTRUCTIVE_FAULTS", "1")
    pytester.makepyfile("""
        def test_settings(harness_settings):
            k8s = harness_settings.extras["k8s"]
            assert (k8s.kubeconfig, k8s.kube_context) == ("/env/kubeconfig", "cli-context")
            assert k8s.node_selector == "role=storage" and k8s.allow_destructive_faults is True
            assert (k8s.kind_binary, k8s.kind_node_image) == ("/opt/kind", None)
            assert k8s.gluster_namespace == "glusterfs" and k8s.pod_selector == "glusterfs=pod"
    """)
    pytester.runpytest("--kube-context", "cli-context", "--kind-binary", "/opt/kind").assert_outcomes(passed=1)


def test_destructive_faults_are_off_by_default(pytester, monkeypatch):
    monkeypatch.delenv("GLUSTER_ALLOW_DESTRUCTIVE_FAULTS", raising=False)
    pytester.makepyfile("""
        def test_settings(harness_settings):
            assert harness_settings.extras["k8s"].allow_destructive_faults is False
    """)
    pytester.runpytest().assert_outcomes(passed=1)


@pytest.mark.parametrize("args, message", [
    (["--gluster-provider", "existing", "--kubeconfig", "/nonexistent/kc"],
     "*cannot start the existing cluster: kubeconfig /nonexistent/kc (from --kubeconfig) does not exist*"),
    (["--gluster-provider", "kind", "--kind-binary", "/nonexistent/kind"],
     "*cannot start the kind cluster: kind binary not found (--kind-binary /nonexistent/kind)*"),
])
def test_bad_kubernetes_input_stops_the_session_with_one_clear_line(pytester, args, message):
    pytester.makepyfile("""
        def test_needs_cluster(gluster_cluster):
            pass
    """)
    result = pytester.runpytest(*args)
    result.stdout.fnmatch_lines([message])
    assert result.ret != 0


def test_xdist_workers_get_their_own_kind_cluster():
    from harness.providers.k8s.options import K8sOptions

    options = K8sOptions(kind_cluster_name="ci")
    assert options.for_worker(None) is options
    assert [options.for_worker(w).kind_cluster_name for w in ("gw0", "gw1")] == ["ci-gw0", "ci-gw1"]
