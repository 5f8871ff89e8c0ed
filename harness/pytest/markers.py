"""The harness's markers: the suites' topic markers, and `requires(capability, ...)`: a test its
cluster cannot serve is skipped, naming what is missing and the provider, before any of its
fixtures changes the cluster."""
from __future__ import annotations

import sys
from typing import Iterable

import pytest

from ..control import lacking
from ..providers import provider_capabilities

MARKERS = {
    "quorum": "client and server quorum behaviour",
    "splitbrain": "split-brain avoidance and resolution",
    "selfheal": "self-heal after faults",
    "chaos": "chaostoolkit experiments",
    "workload": "fio / locust / history workloads",
    "scale": "provisioning at scale",
    "slow": "long-running scenarios",
    "upgrade": "rolling upgrades between GlusterFS versions, mixed-version clusters",
}

MARKER = "requires(*capabilities): the cluster capabilities (harness.Capability) the test needs; " \
         "skipped with the missing ones named where the provider lacks them"


def register(config: pytest.Config) -> None:
    """Declare the markers (--strict-markers) and register this module's fixture as a plugin."""
    for name, description in MARKERS.items():
        config.addinivalue_line("markers", f"{name}: {description}")
    config.addinivalue_line("markers", MARKER)
    module = sys.modules[__name__]
    if not config.pluginmanager.is_registered(module):
        config.pluginmanager.register(module, "harness-requires")


def required(item: pytest.Item) -> list[str]:
    """Every capability the item's `requires` marks name (module, class and function marks), in order."""
    return list(dict.fromkeys(c for mark in item.iter_markers("requires") for c in mark.args))


def skip_reason(needed: Iterable[str], available: frozenset[str], provider: str) -> str | None:
    """Why a test needing `needed` cannot run where `available` is what the cluster can do; None if it can."""
    return lacking(needed, available, f"the {provider} provider")


@pytest.fixture(autouse=True)
def _skip_unless_capable(request: pytest.FixtureRequest) -> None:
    """Autouse, so it runs before the test's other function fixtures (volumes, mounts, faults). A test
    on the session cluster is judged by that cluster's capabilities; one making its own cluster (the
    upgrade suite) by what its provider can do, without starting the session cluster for it."""
    needed = required(request.node)
    if not needed:
        return
    provider = request.getfixturevalue("harness_settings").provider
    if "gluster_cluster" in request.fixturenames:
        available = request.getfixturevalue("gluster_cluster").capabilities
    else:
        available = provider_capabilities(provider)
    reason = skip_reason(needed, available, provider)
    if reason:
        pytest.skip(reason)
