"""Self-heal: pending entries reach 0 within a timeout; time taken and the backlog curve."""
from __future__ import annotations

import time
from typing import TYPE_CHECKING

from ..errors import KnownDefectTimeout, WaitTimeout
from ..gluster import HealSummary
from ..health import pending_words, wait_heal
from ..results import CheckResult
from ..waiting import read_until
from .splitbrain import unanswered, unknown_words

if TYPE_CHECKING:
    from ..cluster import Node
    from ..volume import Volume

HEAL_CHECK = "self-heal completes"
EXPECTED = "pending heal 0 and no split-brain entry"


def check_heal(volume: "Volume", timeout: float, via: "Node | None" = None, name: str = HEAL_CHECK) -> CheckResult:
    """Wait for pending heal 0, then require no split-brain entry either.

    Timeout -> failed with the entries still pending; "-" is never 0 (unknown). A split-brain
    count of "-" right after (a brick glfsheal has not reconnected to yet) is asked again within
    what is left of `timeout`, and is unknown only if it stays so.
    """
    start = time.monotonic()
    try:
        waited = wait_heal(volume, timeout, via)
    except WaitTimeout as exc:
        evidence = {"volume": volume.name, "reason": str(exc)}
        if isinstance(exc, KnownDefectTimeout):
            evidence["known_defect"] = exc.defect
        last = exc.last if isinstance(exc.last, HealSummary) else None
        return CheckResult(name, False, f"pending heal not 0 after {timeout:.0f} s: {pending_words(last)}",
                           EXPECTED, evidence)
    backlog = max((p for _, p in waited.samples if p is not None), default=0)
    evidence = {"volume": volume.name, "heal_seconds": round(waited.seconds, 3),
                "backlog": [[round(t, 3), p] for t, p in waited.samples]}
    healed = f"pending heal 0 after {waited.seconds:.1f} s (at most {backlog} entries pending)"
    # heal info counts split-brain entries apart from pending ones: pending 0 is not healed then.
    asked = time.monotonic()
    summary = read_until(lambda: volume.heal_summary(via), lambda s: s.total_split_brain is not None,
                         timeout=max(timeout - (time.monotonic() - start), 0.0),
                         what=f"every brick of {volume.name} to answer its split-brain count")
    split_brain = summary.total_split_brain
    if split_brain is None:
        unknown = [unanswered(b.brick, b.status) for b in summary.bricks if b.split_brain is None]
        return CheckResult(name, None, f"{healed} but {unknown_words(unknown, time.monotonic() - asked)}",
                           EXPECTED, {**evidence, "bricks_unreachable": unknown})
    if split_brain:
        return CheckResult(name, False, f"{healed} but {split_brain} split-brain entries remain", EXPECTED, evidence)
    return CheckResult(name, True, healed, EXPECTED, evidence)
