"""Helpers shared by the harness's own tests."""
from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

import pytest

from harness.providers.host import registry
from harness.providers.host.netns import existing_namespaces

pytest_plugins = ["pytester"]

REPO = Path(__file__).resolve().parents[1]


def orphan_namespaces() -> list[str]:
    """Harness namespaces that no registered cluster owns: what a botched start would leave.

    Other xdist workers start and stop clusters meanwhile: a slot is claimed before its namespaces are
    made and released after they are gone, so a namespace listed both before and after the registry
    is read belongs to a slot that read shows, unless it is an orphan."""
    before = set(existing_namespaces())
    claimed = {e.index for e in registry.entries()}
    return [ns for ns in existing_namespaces() if ns in before
            if registry.index_of_namespace(ns) is not None and registry.index_of_namespace(ns) not in claimed]


def owned_entries() -> list[registry.Entry]:
    return [e for e in registry.entries() if e.owner_pid == os.getpid()]


@pytest.fixture
def nothing_left_behind():
    """Asserts that the test added no registry entry of this process and no orphan namespace."""
    before = {e.index for e in owned_entries()}
    yield
    added = [e.run_id for e in owned_entries() if e.index not in before]
    assert added == [], f"clusters left registered: {added}"
    assert orphan_namespaces() == []


def harness_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "harness", *args]


def default_sigint() -> None:
    """preexec_fn for a child that is sent Ctrl-C: a shell's background job (`cmd &` without job
    control) starts with SIGINT ignored, children inherit that, and Python then never raises
    KeyboardInterrupt."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
