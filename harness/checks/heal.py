"""Self-heal: pending entries reach 0 within a timeout; time taken and the backlog curve."""
from __future__ import annotations

from typing import TYPE_CHECKING

from ..errors import WaitTimeout
from ..health import wait_heal
from ..results import CheckResult

if TYPE_CHECKING:
    from ..cluster import Node
    from ..volume import Volume


def check_heal(volume: "Volume", timeout: float, via: "Node | None" = None) -> CheckResult:
    """Wait for pending heal 0. Timeout -> failed with the last per-brick counts; "-" is never 0."""
    try:
        waited = wait_heal(volume, timeout, via)
    except WaitTimeout as exc:
        return CheckResult("self-heal completes", False, f"pending heal not 0 after {timeout:.0f} s",
                           "pending heal 0", {"volume": volume.name, "reason": str(exc)})
    return CheckResult(
        "self-heal completes", True, f"pending heal 0 after {waited.seconds:.1f} s", "pending heal 0",
        {"volume": volume.name, "heal_seconds": round(waited.seconds, 3),
         "backlog": [[round(t, 3), p] for t, p in waited.samples]},
    )
