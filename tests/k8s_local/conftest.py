"""Fixtures of the Kubernetes lane's own tests: a real k8s-local cluster (`make k8s` builds it)."""
from __future__ import annotations

import pytest

from harness.errors import MissingPrerequisite
from harness.providers import make_provider
from harness.providers.host.teardown import leftovers
from harness.providers.k8s_local import build
from harness.providers.local import DEFAULT_ROOT
from harness.volume import VolumeSpec, VolumeType, create_volume


def _k8s_build_missing() -> str:
    """Why the k8s-local tests cannot run here (`make k8s` has not built Kubernetes), or ""."""
    try:
        build.require()
    except MissingPrerequisite as exc:
        return str(exc)
    return ""


_K8S_MISSING = _k8s_build_missing()
k8s_built = pytest.mark.skipif(bool(_K8S_MISSING), reason=_K8S_MISSING or "built")


@pytest.fixture(scope="session")
def cluster():
    """One k8s-local cluster for the session (3 nodes in 3 zones, 2 client pods on a node of their own),
    shared by the tests that leave it whole; tests of bring-up, teardown or node crashes make their own."""
    made = make_provider("k8s-local", nodes=3, zones=3, clients=2, root=DEFAULT_ROOT).up()
    try:
        yield made
    finally:
        made.down()
    assert leftovers(made.run_id, made.root) == []


@pytest.fixture(scope="module")
def volume(cluster):
    """A replica-3 volume of the shared cluster, one per module."""
    return create_volume(cluster, VolumeSpec(VolumeType.REPLICA3))
