"""How long a failed message stays invisible before its next attempt, and how long retries last (pure)."""

from __future__ import annotations

import math
import random

#: SQS refuses visibility timeouts above 12 hours.
MAX_VISIBILITY_SECONDS = 12 * 3600


def retry_delay(
    attempt: int,
    *,
    base: float,
    cap: float,
    retry_after: float | None = None,
    rng: random.Random | None = None,
) -> int:
    """Whole seconds to wait before attempt ``attempt + 1``: exponential, full jitter above half, capped.

    ``retry_after`` (a downstream's ``Retry-After``) is a floor: we never come back sooner than asked,
    even above ``cap``. Rounded up, because ``ChangeMessageVisibility`` takes whole seconds.
    """
    rng = rng or random.Random()
    exponential = min(cap, base * 2.0 ** max(0, attempt - 1))
    delay = exponential / 2 + rng.random() * exponential / 2  # "equal jitter": spread, never near 0
    if retry_after is not None:
        delay = max(delay, retry_after)
    return min(MAX_VISIBILITY_SECONDS, math.ceil(delay))


def shortest_retry_seconds(receives: int, *, base: float, cap: float) -> float:
    """The least time between a message's first failed attempt and its ``receives``-th attempt.

    Each delay is at least half its exponential (the jitter's floor), rounded up to whole seconds.
    With ``maxReceiveCount = receives`` a message whose every attempt fails is dead-lettered on its
    ``receives``-th, so this is the shortest time an event spends failing before it reaches the DLQ.
    """
    total = 0.0
    for attempt in range(1, receives):
        exponential = min(cap, base * 2.0 ** (attempt - 1))
        total += min(MAX_VISIBILITY_SECONDS, math.ceil(exponential / 2))
    return total
