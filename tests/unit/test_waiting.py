"""wait_for's "not known yet" errors: waited through, named on timeout, others not swallowed."""
from __future__ import annotations

import pytest

from harness.errors import CommandError, HarnessError, WaitTimeout
from harness.waiting import wait_for


def failing_then(answers: list[object]):
    """A probe that replays `answers` in turn: an exception is raised, anything else returned."""
    def probe():
        answer = answers.pop(0) if len(answers) > 1 else answers[0]
        if isinstance(answer, BaseException):
            raise answer
        return answer
    return probe


def test_a_tolerated_error_means_not_yet():
    probe = failing_then([HarnessError("glusterd restarting"), HarnessError("still"), "ready"])
    assert wait_for(probe, timeout=5, what="ready", interval=0, tolerate=HarnessError) == "ready"


def test_a_timeout_names_the_last_error_and_state():
    probe = failing_then([None, HarnessError("Volume v1 does not exist\nmore detail")])
    with pytest.raises(WaitTimeout, match=r"last observed: 2 bricks down; last attempt failed: Volume v1 does not "
                                          r"exist$"):
        wait_for(probe, timeout=0.2, what="bricks", interval=0.01, describe=lambda: "2 bricks down",
                 tolerate=HarnessError)


def test_an_answer_after_an_error_clears_it_from_the_message():
    probe = failing_then([HarnessError("transient"), None])
    with pytest.raises(WaitTimeout) as caught:
        wait_for(probe, timeout=0.2, what="bricks", interval=0.01, describe=lambda: "2 bricks down",
                 tolerate=HarnessError)
    assert "transient" not in str(caught.value) and str(caught.value).endswith("last observed: 2 bricks down")


def test_an_error_not_tolerated_propagates_at_once():
    with pytest.raises(ValueError):
        wait_for(failing_then([ValueError("a bug in the probe")]), timeout=5, what="x", tolerate=HarnessError)
    with pytest.raises(HarnessError, match="no tolerance asked"):
        wait_for(failing_then([HarnessError("no tolerance asked")]), timeout=5, what="x")


def test_tolerating_a_subclass_leaves_its_siblings_raised():
    with pytest.raises(WaitTimeout, match="inner"):
        wait_for(failing_then([WaitTimeout("inner")]), timeout=5, what="x", tolerate=CommandError)
