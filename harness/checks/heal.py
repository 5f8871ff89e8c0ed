"""Self-heal: pending entries reach 0 within a timeout; time taken and the backlog curve."""
from __future__ import annotations

from typing import TYPE_CHECKING

from ..errors import KnownDefectTimeout, WaitTimeout
from ..health import wait_heal
from ..results import CheckResult

if TYPE_CHECKING:
    from ..cluster import Node
    from ..volume import Volume


def check_heal(volume: "Volume", timeout: float, via: "Node | None" = None) -> CheckResult:
    """Wait for pending heal 0, then require no split-brain entry either.

    Timeout -> failed with the last per-brick counts; "-" is never 0 (unknown).
    """
    try:
        waited = wait_heal(volume, timeout, via)
    except WaitTimeout as exc:
        evidence = {"volume": volume.name, "reason": str(exc)}
        if isinstance(exc, KnownDefectTimeout):
            evidence["known_defect"] = exc.defect
        return CheckResult("self-heal completes", False, f"pending heal not 0 after {timeout:.0f} s",
                           "pending heal 0 and no split-brain entry", evidence)
    evidence = {"volume": volume.name, "heal_seconds": round(waited.seconds, 3),
                "backlog": [[round(t, 3), p] for t, p in waited.samples]}
    # heal info counts split-brain entries apart from pending ones: pending 0 is not healed then.
    split_brain = volume.heal_summary(via).total_split_brain
    if split_brain != 0:
        observed = "split-brain count unknown" if split_brain is None else f"{split_brain} split-brain entries remain"
        return CheckResult("self-heal completes", None if split_brain is None else False,
                           f"pending heal 0 after {waited.seconds:.1f} s but {observed}",
                           "pending heal 0 and no split-brain entry", evidence)
    return CheckResult("self-heal completes", True, f"pending heal 0 after {waited.seconds:.1f} s",
                       "pending heal 0 and no split-brain entry", evidence)
