"""The hung-node stall bound (issue 20, item 5): about 1x to 2x network.ping-timeout.

The old N1 bound, 0.5x .. 2x + 2 s, passed a client that gave up on a hung server at 0.6x ping-timeout;
these are the negative controls for the tightened one, at the fast profile's 5 s and gluster's 42 s."""
import pytest

from harness.checks.stall import MEASUREMENT_SLACK_S, check_ping_timeout_stall, ping_timeout_stall_bounds


@pytest.mark.parametrize("ping_timeout", [5.0, 42.0])
@pytest.mark.parametrize("ratio, passed", [
    (0.5, False), (0.6, False),  # gave up too early: the old bound accepted both
    (1.0, True), (1.2, True), (1.9, True), (2.0, True),
    (2.5, False), (3.0, False),  # did not disconnect when the ping timer says it must
])
def test_stall_bound(ping_timeout, ratio, passed):
    result = check_ping_timeout_stall(ratio * ping_timeout, ping_timeout)
    assert result.passed is passed, result.explain()
    assert result.evidence["ping_timeout_s"] == ping_timeout


def test_bounds_edges_at_the_fast_profile():
    low, high = ping_timeout_stall_bounds(5.0)
    assert (low, high) == (4.0, 10.0 + MEASUREMENT_SLACK_S)
    assert check_ping_timeout_stall(4.0, 5.0).passed is False  # whole-second rounding loses under 1 s
    assert check_ping_timeout_stall(4.01, 5.0).passed is True
    assert check_ping_timeout_stall(high, 5.0).passed is True
    assert check_ping_timeout_stall(high + 0.01, 5.0).passed is False


def test_result_says_what_was_measured_against_what():
    result = check_ping_timeout_stall(3.0, 5.0)
    assert result.observed == "longest operation 3.00 s (0.60 x ping-timeout)"
    assert result.expected.startswith("4 s < stall <= 11 s (network.ping-timeout 5 s")
    assert result.evidence["bounds_s"] == [4.0, 11.0]


def test_a_ping_timeout_of_zero_is_refused():
    with pytest.raises(ValueError, match="stalls I/O forever"):
        ping_timeout_stall_bounds(0)
