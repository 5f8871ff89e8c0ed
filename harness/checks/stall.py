"""How long a hung server stalls a client's I/O: between about 1x and 2x network.ping-timeout.

The rule is the client's ping timer (rpc/rpc-lib/src/rpc-clnt-ping.c). While requests are
outstanding the client pings each server; a ping's reply schedules the next ping ping-timeout later,
and each ping arms an expiry timer ping-timeout after it is sent. When the timer expires the client
disconnects, unless something was received or sent in the last ping-timeout seconds, counted in whole
seconds (`now.tv_sec - last_sent.tv_sec < ping_timeout`); then it re-arms for another ping-timeout.
After the disconnect AFR finishes the stalled operation on the other bricks.

For a write that sent its last request to the hung server at L (the server never answers it):
- the disconnect comes no sooner than ping-timeout after L, less what whole-second arithmetic loses
  (under 1 s): stall > ping_timeout - 1 s. The write began at or before L, so timing it from its
  start can only lengthen it: no measurement slack is needed on this side.
- the disconnect comes at most 2 x ping-timeout after the last ping answered before the hang (the next
  ping goes ping-timeout after that answer, and expires ping-timeout later), or, with a ping in flight
  at L, at its first expiry at least ping-timeout after L, also within 2 x ping-timeout.

Measurement slack on the upper side (MEASUREMENT_SLACK_S): the stall is the latency of one probe
operation (open, 4 KiB write, fsync, close; see harness.latency_probe), not the disconnect itself. A
write in flight at the hang began up to one healthy operation before it, and after the disconnect it
still has to finish its remaining requests on the other bricks; gluster's timer thread and the probe
thread wait for a CPU on a loaded two-core machine. A healthy probe write took 3-60 ms here (N1's
"before" phase, load average 5-11), so 1 s covers them with room.

Measured here (GlusterFS 10.3, ping-timeout 5 s, 2026-12-05): a client idle for 12 s (no ping running)
whose one write met a hung node stalled 5.01, 5.01, 5.02 s (1.00x); N1 (writes every 20 ms, the ping
cycle running) stalled 7.91, 8.61, 8.05, 8.66, 8.27 s (1.58-1.73x) in five runs.
"""
from __future__ import annotations

from ..results import CheckResult

WHOLE_SECONDS_S = 1.0  # what the ping timer's whole-second comparison can cut off the lower bound
MEASUREMENT_SLACK_S = 1.0  # one probe operation around the stall and scheduling delay (see above)


def ping_timeout_stall_bounds(ping_timeout_s: float) -> tuple[float, float]:
    """(shortest, longest) stall, in seconds, that a hung server may cause a client with I/O in flight."""
    if ping_timeout_s <= 0:
        raise ValueError(f"network.ping-timeout {ping_timeout_s:g} s: a hung server stalls I/O forever at 0")
    return ping_timeout_s - WHOLE_SECONDS_S, 2 * ping_timeout_s + MEASUREMENT_SLACK_S


def check_ping_timeout_stall(stall_s: float, ping_timeout_s: float,
                             name: str = "I/O stalls until ping-timeout, then continues") -> CheckResult:
    """The longest operation under a hung server lasted between ~1x and ~2x network.ping-timeout.

    Shorter means the client gave up on the server before ping-timeout (or the fault did not hang it);
    longer means it did not disconnect when the ping timer says it must (or something else stalled)."""
    low, high = ping_timeout_stall_bounds(ping_timeout_s)
    return CheckResult(
        name=name,
        passed=low < stall_s <= high,
        observed=f"longest operation {stall_s:.2f} s ({stall_s / ping_timeout_s:.2f} x ping-timeout)",
        expected=f"{low:g} s < stall <= {high:g} s (network.ping-timeout {ping_timeout_s:g} s: 1x less "
                 f"{WHOLE_SECONDS_S:g} s of whole-second rounding, to 2x plus {MEASUREMENT_SLACK_S:g} s "
                 f"of measurement)",
        evidence={"stall_s": round(stall_s, 3), "ping_timeout_s": ping_timeout_s, "bounds_s": [low, high]},
    )
