"""The steady-state write p99 is judged over a fixed number of writes, not a fixed time: a loaded
machine fitted 28 writes in the old 2 s window, where "p99" is the slowest write, and one 263 ms
write failed a healthy volume's zone-latency steady state (make test, 2026-12-06)."""
from __future__ import annotations

from harness.chaos.probes import judge_p99, p99_decided
from harness.timeseries import percentiles

FAST = [40.0] * 100


def test_one_slow_write_in_a_hundred_is_within_the_p99() -> None:
    assert judge_p99(FAST[:50] + [262.8] + FAST[50:99], 250, 100, 30) is None


def test_two_slow_writes_in_a_hundred_put_the_p99_over_the_bound() -> None:
    latencies = FAST[:97] + [262.8, 300.0, 40.0]
    assert p99_decided(latencies[:99], 250, 100), "two over the bound decide before the hundredth write"
    assert judge_p99(latencies, 250, 100, 30) == "2 of the first 100 writes took 250 ms or more (slowest 300.0 ms)"


def test_the_rule_is_the_nearest_rank_p99_of_the_hundred() -> None:
    for slow in (0, 1, 2, 3):
        latencies = FAST[:100 - slow] + [20000.0] * slow
        assert (judge_p99(latencies, 250, 100, 30) is None) == (percentiles(latencies, (99.0,))["p99"] < 250)


def test_a_failed_write_fails_at_once() -> None:
    assert p99_decided([40.0, None], 250, 100)
    assert judge_p99([40.0, None], 250, 100, 30) == "1 of 2 writes failed"


def test_too_few_writes_are_not_a_p99() -> None:
    assert not p99_decided([40.0] * 28, 250, 100)
    assert judge_p99([40.0] * 27 + [262.8], 250, 100, 30) == "only 28 writes in 30 s, 100 needed for a p99"
