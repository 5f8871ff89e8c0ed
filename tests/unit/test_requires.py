"""The `requires` marker, black-box through pytester: a cluster stands in for the session's (no
cluster is started), so what is judged is the marker's decision alone."""
from __future__ import annotations

import pytest

from harness import Capability
from harness.providers import PROVIDERS, provider_capabilities
from harness.pytest.markers import skip_reason

pytestmark = pytest.mark.usefixtures("isolated_reports")

# The session cluster replaced by one with exactly the capabilities a test names.
CONFTEST = """
import pytest

class Stand:  # a stand-in for a Cluster: the contract's attributes the plugin reads
    run_id = "stand-in"
    capabilities = frozenset({"process-faults", "host-fuse"})
    fault_timeline = None

@pytest.fixture(scope="session")
def gluster_cluster():
    return Stand()
"""


@pytest.fixture
def isolated_reports(pytester, monkeypatch):
    monkeypatch.setenv("GLUSTER_REPORT_DIR", str(pytester.path / "reports"))


def test_the_marker_is_registered(pytester):
    pytester.runpytest("--markers").stdout.fnmatch_lines(["@pytest.mark.requires(*capabilities):*"])


def test_a_missing_capability_skips_naming_it_and_the_provider(pytester):
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile("""
        import pytest
        from harness import Capability

        @pytest.mark.requires(Capability.PROCESS_FAULTS, Capability.PACKET_DELAY)
        def test_delay(gluster_cluster):
            raise AssertionError("must not run")
    """)
    result = pytester.runpytest("-rs", "--gluster-provider", "k8s-local")
    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines(["*needs packet-delay, which the k8s-local provider lacks (it has: host-fuse, "
                                 "process-faults)*"])


def test_a_capability_the_cluster_has_runs_the_test(pytester):
    """The negative control: the same marker with capabilities the cluster has does not skip."""
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile("""
        import pytest
        from harness import Capability

        @pytest.mark.requires(Capability.PROCESS_FAULTS, Capability.HOST_FUSE)
        def test_kill(gluster_cluster):
            pass

        def test_unmarked(gluster_cluster):
            pass
    """)
    pytester.runpytest("--gluster-provider", "k8s-local").assert_outcomes(passed=2)


def test_module_and_function_marks_add_up_and_skip_before_other_fixtures(pytester):
    pytester.makeconftest(CONFTEST + """
@pytest.fixture
def volume(gluster_cluster):
    raise AssertionError("a fixture of a skipped test must not run")
""")
    pytester.makepyfile("""
        import pytest
        from harness import Capability

        pytestmark = pytest.mark.requires(Capability.HOST_FUSE)

        @pytest.mark.requires(Capability.NETWORK_FAULTS)
        def test_partition(volume):
            pass
    """)
    result = pytester.runpytest("-rs")
    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines(["*needs network-faults, which the local provider lacks*"])


def test_a_test_without_the_session_cluster_is_judged_by_its_provider(pytester):
    """The upgrade suite makes its own local cluster: on k8s-local it skips without any cluster."""
    pytester.makepyfile("""
        import pytest
        from harness import Capability

        @pytest.mark.requires(Capability.GLUSTER_VERSIONS)
        def test_upgrade():
            pass

        @pytest.mark.requires(Capability.NETWORK_FAULTS)
        def test_partition():
            pass
    """)
    result = pytester.runpytest("-rs", "--gluster-provider", "k8s-local")
    result.assert_outcomes(passed=1, skipped=1)
    result.stdout.fnmatch_lines(["*needs gluster-versions, which the k8s-local provider lacks*"])


@pytest.mark.parametrize("needed, available, expected", [
    ((), frozenset(), None),
    (("a",), frozenset({"a", "b"}), None),
    (("a", "c", "d"), frozenset({"a"}), "needs c, d, which the kind provider lacks (it has: a)"),
    (("a",), frozenset(), "needs a, which the kind provider lacks (it has: none)"),
    # Alternatives: one suffices (whole-node faults by this host's signals or by a node runtime).
    ((("a", "b"),), frozenset({"b"}), None),
    ((("a", "b"), "c"), frozenset({"c"}), "needs one of (a or b), which the kind provider lacks (it has: c)"),
])
def test_skip_reason(needed, available, expected):
    assert skip_reason(needed, available, "kind") == expected


def test_every_provider_declares_its_capabilities():
    local = provider_capabilities("local")
    assert {Capability.PROCESS_FAULTS, Capability.HOST_FUSE} <= local
    for name in PROVIDERS:
        assert provider_capabilities(name) <= local | provider_capabilities("kind")
    for name in ("kind", "existing", "k8s-local"):  # pods: nothing of theirs is in this host's /proc or mounts
        assert not {Capability.PROCESS_FAULTS, Capability.HOST_FUSE} & provider_capabilities(name)
        assert Capability.CLIENT_WORKLOADS in provider_capabilities(name)  # fio runs in client pods
    # loop devices in client pods only where they run on this machine's kernel; the S3 gateway where
    # the client pods run the images `make k8s` builds and this process can enter their network
    assert {Capability.LOOP_DEVICES, Capability.S3_GATEWAY} <= provider_capabilities("k8s-local")
    assert not {Capability.LOOP_DEVICES, Capability.S3_GATEWAY} & (provider_capabilities("kind")
                                                                  | provider_capabilities("existing"))
    assert {Capability.CLIENT_WORKLOADS, Capability.LOOP_DEVICES, Capability.S3_GATEWAY} <= local
