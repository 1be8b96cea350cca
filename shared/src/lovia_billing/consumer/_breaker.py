"""A per-integration circuit breaker, pure: it reads outcomes and the time, and says what to do.

It tells a downstream that is down (the system) from a message that fails (the message): a failure
counts only when it is about the system (``Signal.UNAVAILABLE``: connection errors, timeouts, 5xx,
429), and the breaker opens only when ``groups`` different message groups failed that way within
``window`` seconds with no success in between. One customer's message failing again and again, or
failures spread among successes, keep the per-message retry path.

    CLOSED ──(``groups`` groups unavailable within ``window``)──▶ OPEN
    OPEN ──(``next_probe_at`` reached: ``begin_probe``)──▶ PROBING   (one message is tried)
    PROBING ──(unavailable)──▶ OPEN, next probe after twice the interval (capped at ``probe_cap``)
    PROBING ──(the downstream answered: success or a refusal)──▶ CLOSED
    OPEN/PROBING ──(any other message succeeds or is refused)──▶ CLOSED

A wait the downstream asked for (``Retry-After``, a rate-limit reset) delays the next probe further.
The clock is injected; nothing here sleeps or does I/O (the consumer's ``_outage`` module does).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

__all__ = ["Breaker", "BreakerPolicy", "BreakerSnapshot", "BreakerState", "Signal", "Transition"]

#: Never wait longer than SQS lets us hold a message, whatever a downstream's header says.
MAX_PROBE_WAIT_SECONDS = 12 * 3600.0


class BreakerState(StrEnum):
    CLOSED = "closed"  # full speed
    OPEN = "open"  # not receiving; waiting for the next probe
    PROBING = "probing"  # one message is being tried ("half-open")


class Signal(StrEnum):
    """What one outcome says about the downstream system (not about the message)."""

    SUCCESS = "success"  # it did what was asked
    REFUSED = "refused"  # it answered and refused this message (permanent): it is up
    UNAVAILABLE = "unavailable"  # it failed as a system: connection, timeout, 5xx, 429
    NONE = "none"  # nothing about it: a duplicate, a claim held elsewhere, our own bug


@dataclass(frozen=True)
class BreakerPolicy:
    """When to open and how often to probe, in seconds (already scaled by ``consumer_time_scale``)."""

    groups: int = 3
    window: float = 120.0
    probe_first: float = 5.0
    probe_cap: float = 300.0

    def __post_init__(self) -> None:
        if self.groups < 1:
            raise ValueError("groups must be at least 1")
        if self.window <= 0 or self.probe_first <= 0:
            raise ValueError("window and probe_first must be positive")
        if self.probe_cap < self.probe_first:
            raise ValueError("probe_cap must be at least probe_first")


@dataclass(frozen=True)
class Transition:
    before: BreakerState
    after: BreakerState
    at: float


@dataclass(frozen=True)
class BreakerSnapshot:
    """What an operator needs to see; ``opened_at`` and ``next_probe_at`` are None while closed."""

    state: BreakerState
    since: float
    opened_at: float | None
    next_probe_at: float | None
    probes: int
    last_error: str | None


class Breaker:
    """One integration's breaker; call ``record`` for every outcome and ``end_probe`` for a probe's."""

    def __init__(self, policy: BreakerPolicy, clock: Callable[[], float]) -> None:
        self.policy = policy
        self._clock = clock
        self.state = BreakerState.CLOSED
        self.since = clock()
        self.opened_at: float | None = None
        self.next_probe_at: float | None = None
        self.interval = policy.probe_first
        self.probes = 0  # probes tried in the current open period
        self.last_error: str | None = None
        self._failing: dict[str, float] = {}  # group → last unavailable outcome, since the last success

    # ---- questions -------------------------------------------------------------------------------

    @property
    def closed(self) -> bool:
        return self.state is BreakerState.CLOSED

    def probe_due(self) -> bool:
        return (
            self.state is BreakerState.OPEN
            and self.next_probe_at is not None
            and self._clock() >= self.next_probe_at
        )

    def seconds_to_probe(self) -> float | None:
        """Seconds until the next probe is due (0 when due), None unless open."""
        if self.state is not BreakerState.OPEN or self.next_probe_at is None:
            return None
        return max(0.0, self.next_probe_at - self._clock())

    def failing_groups(self) -> int:
        """Groups with an unavailable outcome inside the window (closed only; 0 otherwise)."""
        self._forget_old(self._clock())
        return len(self._failing)

    def snapshot(self) -> BreakerSnapshot:
        return BreakerSnapshot(
            self.state, self.since, self.opened_at, self.next_probe_at, self.probes, self.last_error
        )

    # ---- outcomes --------------------------------------------------------------------------------

    def record(
        self, group: str, signal: Signal, *, error: str | None = None, wait: float | None = None
    ) -> Transition | None:
        """One message's outcome outside a probe; returns the transition it caused, if any."""
        now = self._clock()
        if signal in (Signal.SUCCESS, Signal.REFUSED):
            self._failing.clear()
            return None if self.closed else self._close(now)
        if signal is not Signal.UNAVAILABLE:
            return None
        self.last_error = error or self.last_error
        if not self.closed:
            return None  # already open: one probe at a time decides, not the stragglers
        self._failing[group] = now
        self._forget_old(now)
        if len(self._failing) < self.policy.groups:
            return None
        return self._open(now, wait)

    def begin_probe(self) -> Transition:
        """Start the due probe (OPEN → PROBING); ``RuntimeError`` if none is due."""
        if not self.probe_due():
            raise RuntimeError(f"no probe is due (state {self.state})")
        self.probes += 1
        return self._move(BreakerState.PROBING, self._clock())

    def end_probe(
        self, group: str, signal: Signal, *, error: str | None = None, wait: float | None = None
    ) -> Transition | None:
        """The probe's outcome: close on an answer, back off on unavailable, retry soon on nothing."""
        if self.state is not BreakerState.PROBING:
            return self.record(group, signal, error=error, wait=wait)  # closed meanwhile by another
        now = self._clock()
        if signal in (Signal.SUCCESS, Signal.REFUSED):
            return self._close(now)
        if signal is Signal.UNAVAILABLE:
            self.last_error = error or self.last_error
            self.interval = min(self.policy.probe_cap, self.interval * 2)
        self.next_probe_at = now + self._delay(wait if signal is Signal.UNAVAILABLE else None)
        return self._move(BreakerState.OPEN, now)

    def no_probe(self) -> Transition:
        """A due probe found no message to try: stay open, look again after the same interval."""
        if self.state is not BreakerState.PROBING:
            raise RuntimeError(f"no probe is under way (state {self.state})")
        now = self._clock()
        self.next_probe_at = now + self.interval
        return self._move(BreakerState.OPEN, now)

    # ---- moves -----------------------------------------------------------------------------------

    def _delay(self, wait: float | None) -> float:
        asked = min(MAX_PROBE_WAIT_SECONDS, wait) if wait is not None and wait > 0 else 0.0
        return max(self.interval, asked)

    def _open(self, now: float, wait: float | None) -> Transition:
        self._failing.clear()
        self.opened_at = now
        self.interval = self.policy.probe_first
        self.probes = 0
        self.next_probe_at = now + self._delay(wait)
        return self._move(BreakerState.OPEN, now)

    def _close(self, now: float) -> Transition:
        self._failing.clear()
        self.opened_at = None
        self.next_probe_at = None
        self.interval = self.policy.probe_first
        self.probes = 0
        self.last_error = None
        return self._move(BreakerState.CLOSED, now)

    def _move(self, state: BreakerState, now: float) -> Transition:
        transition = Transition(self.state, state, now)
        if state is not self.state:
            self.since = now
        self.state = state
        return transition

    def _forget_old(self, now: float) -> None:
        horizon = now - self.policy.window
        for group in [g for g, at in self._failing.items() if at < horizon]:
            del self._failing[group]
