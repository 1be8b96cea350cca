"""Staying inside Xendit's rate limit by reading its ``Rate-Limit-*`` headers (ref/xendit.md §1).

Xendit counts requests in a sliding window per endpoint (method + route template) per key, 60 a
minute in test mode and 600 live, and says on every answer how many are left
(``Rate-Limit-Remaining``) and in how many seconds a slot frees (``Rate-Limit-Reset``). A 429 carries
no documented ``Retry-After``. The consumers leave waiting to their runtime (``RateLimited``); a bulk
reader such as the reconciliation uses a ``RateLimitPacer`` instead: before a request on an endpoint
whose budget is spent it waits until the reset, and after a 429 it waits and tries again, so a long
run never leans on 429s. Requests in flight are counted against the budget before their answer is
back, so concurrent callers do not all spend the last slot.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import httpx

REMAINING = "Rate-Limit-Remaining"
RESET = "Rate-Limit-Reset"
#: Waited after a 429 that says nothing about when to come back.
DEFAULT_BACKOFF_SECONDS = 1.0
#: Added to every wait: ``Rate-Limit-Reset`` is rounded (to 10 ms), and arriving a hair early is a 429.
MARGIN_SECONDS = 0.05


@dataclass
class _Budget:
    remaining: int | None = None  # as the last answer said, less the requests sent since
    reset_at: float = 0.0  # monotonic time at which a slot frees


def _number(response: httpx.Response, name: str) -> float | None:
    try:
        return float(response.headers[name])
    except (KeyError, ValueError):
        return None


class RateLimitPacer:
    """Waits as Xendit's headers ask, per endpoint; counts requests, waits and 429s for the record.

    ``reserve``: requests left unused in each window (for other clients of the same key, such as
    xendit_sync). ``max_retries``: 429s in a row on one request before the error is raised.
    """

    def __init__(
        self,
        *,
        reserve: int = 0,
        max_retries: int = 5,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.reserve = reserve
        self.max_retries = max_retries
        self._clock = clock
        self._sleep = sleep
        self._budgets: dict[str, _Budget] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self.requests: Counter[str] = Counter()
        self.throttled: Counter[str] = Counter()  # 429 answers
        self.waited_seconds = 0.0

    async def before(self, endpoint: str) -> None:
        """Wait until ``endpoint`` has budget left, then count one request against it."""
        lock = self._locks.setdefault(endpoint, asyncio.Lock())
        async with lock:  # one caller at a time decides, so the last slot is spent once
            budget = self._budgets.setdefault(endpoint, _Budget())
            if budget.remaining is not None and budget.remaining <= self.reserve:
                await self._wait(budget.reset_at - self._clock())
                budget.remaining = None  # unknown until the next answer: the window has moved
            if budget.remaining is not None:
                budget.remaining -= 1
            self.requests[endpoint] += 1

    def after(self, endpoint: str, response: httpx.Response) -> None:
        """Take the budget the answer reports."""
        remaining, reset = _number(response, REMAINING), _number(response, RESET)
        budget = self._budgets.setdefault(endpoint, _Budget())
        if remaining is not None:
            budget.remaining = int(remaining)
        if reset is not None:
            budget.reset_at = self._clock() + reset
        if response.status_code == 429:
            self.throttled[endpoint] += 1
            budget.remaining = 0
            if reset is None:
                budget.reset_at = self._clock() + DEFAULT_BACKOFF_SECONDS

    async def _wait(self, seconds: float) -> None:
        if seconds > 0:
            seconds += MARGIN_SECONDS
            self.waited_seconds += seconds
            await self._sleep(seconds)

    @property
    def total_requests(self) -> int:
        return sum(self.requests.values())
