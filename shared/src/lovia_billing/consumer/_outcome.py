"""What the per-message pipeline reports, and the one place that reads it as a signal about the system.

The pipeline (``_pipeline``) never touches the queue: it returns an ``Outcome`` and the consumer
decides what happens to the message (delete, retry later, dead-letter, hold for the breaker).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from lovia_billing._errors import DownstreamTimeout, DownstreamUnavailable, RateLimited
from lovia_billing._events import DomainEvent
from lovia_billing.consumer._breaker import Signal

__all__ = ["Cause", "Outcome", "Verdict", "is_systemic", "signal_of"]


class Verdict(StrEnum):
    """What happens to the message."""

    DONE = "done"  # the handler succeeded: delete
    DUPLICATE = "duplicate"  # already done by someone: delete, no effect
    RETRY = "retry"  # failed, may succeed later
    DEAD = "dead"  # can never succeed: to the DLQ
    HELD = "held"  # another worker holds the claim: leave it for later


class Cause(StrEnum):
    """Why a message did not succeed: the message, or the system behind it."""

    NONE = "none"  # it did succeed, or was not tried (duplicate, claim held)
    MESSAGE = "message"  # the message itself: unparseable, no handler, an unexpected error
    REFUSED = "refused"  # the downstream answered and refused it (``PermanentError``)
    SYSTEM = "system"  # the downstream is unwell: connection, timeout, 5xx, 429


@dataclass(frozen=True)
class Outcome:
    verdict: Verdict
    cause: Cause = Cause.NONE
    event: DomainEvent | None = None
    error: str | None = None
    retry_after: float | None = None  # the downstream's own wait, seconds
    log: dict[str, Any] = field(default_factory=dict)  # the message's log keys (event id, customer...)


def is_systemic(exc: BaseException) -> bool:
    """Connection errors, timeouts, 5xx and 429: the downstream is unwell, whatever the message."""
    return isinstance(exc, DownstreamUnavailable | DownstreamTimeout | RateLimited)


def signal_of(outcome: Outcome) -> Signal:
    """What an outcome tells the breaker about the downstream system (the only place that says)."""
    if outcome.verdict is Verdict.DONE:
        return Signal.SUCCESS
    if outcome.cause is Cause.REFUSED:
        return Signal.REFUSED
    if outcome.cause is Cause.SYSTEM:
        return Signal.UNAVAILABLE
    return Signal.NONE
