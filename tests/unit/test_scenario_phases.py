"""run_phases' start-up: with a `measured` count, "before" starts at the workload's first operation
and the fault waits until "before" holds one; a workload that never starts is an error naming it.
History clients on a plain directory (no cluster needed: no fault is injected here)."""
from __future__ import annotations

import threading
import time

import pytest

from harness.history import FileStore
from harness.timeseries import Point, TimeSeries
from harness.waiting import WaitTimeout
from harness.workloads.scenario import PhasePlan, run_phases, wait_before_phase

PLAN = PhasePlan(before_s=0.5, after_s=0.5, startup_s=10.0, history_think_s=0.05)


def slow_starting_workload(startup_s: float, started: threading.Event, calls: list[int]):
    def workload(runtime_s: int) -> list[TimeSeries]:
        calls.append(runtime_s)
        time.sleep(startup_s)
        first = time.time()
        started.set()
        time.sleep(runtime_s)
        return [TimeSeries("op", (Point(first, 1.0, True),))]
    return workload


def test_before_starts_at_the_first_operation_and_the_runtime_holds_no_start_up(tmp_path):
    started, calls = threading.Event(), []
    began = time.time()
    report = run_phases("file", slow_starting_workload(1.0, started, calls), {"c1": FileStore(tmp_path)},
                        None, volume=None, plan=PLAN, measured=lambda: int(started.is_set()))
    (before,) = report.phases
    assert before.start >= began + 1.0, "the phase began before the workload's first operation"
    assert calls == [1], "the start-up allowance was added to a runtime that counts from the first operation"
    assert report.history.valid is True and report.history.unavailability == []


def test_a_workload_that_never_starts_is_named_in_the_error(tmp_path):
    plan = PhasePlan(before_s=0.5, after_s=0.5, startup_s=0.5)
    with pytest.raises(WaitTimeout, match="the s3 workload's first operation"):
        run_phases("s3", lambda runtime_s: time.sleep(runtime_s) or [], {"c1": FileStore(tmp_path)}, None,
                   volume=None, plan=plan, measured=lambda: 0)


def test_before_lasts_until_it_holds_an_operation():
    counts = iter([5, 5, 5, 5, 6])  # one request in flight through the whole of before_s, then done
    wait_before_phase("s3", PhasePlan(before_s=0.0, startup_s=10.0), threading.Event(), lambda: next(counts))
    assert next(counts, None) is None, "the fault would start before 'before' measured an operation"


def test_before_that_never_holds_an_operation_is_named_in_the_error():
    with pytest.raises(WaitTimeout, match="the s3 workload's first operation of the 'before' phase"):
        wait_before_phase("s3", PhasePlan(before_s=0.0, startup_s=0.5), threading.Event(), lambda: 3)


def test_before_does_not_wait_for_a_workload_that_has_ended():
    done = threading.Event()
    done.set()
    wait_before_phase("s3", PhasePlan(before_s=0.0, startup_s=60.0), done, lambda: 3)
