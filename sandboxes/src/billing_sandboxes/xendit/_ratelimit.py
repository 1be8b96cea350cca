"""Xendit's rate limit: a sliding window per endpoint per API key, with ``Rate-Limit-*`` headers.

Over the budget Xendit answers 429 ``RATE_LIMIT_EXCEEDED``; no ``Retry-After`` is documented, so
the sandbox sends none and clients must read ``Rate-Limit-Reset`` (seconds left, decimal).
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable

from billing_sandboxes.xendit._errors import RATE_LIMIT_MESSAGE, XenditApiError


class RateLimiter:
    def __init__(self, limit: int, window_seconds: float) -> None:
        self.limit = limit
        self.window = window_seconds
        self._hits: dict[tuple[str, str], deque[float]] = {}
        self._lock = threading.Lock()

    def configure(self, limit: int, window_seconds: float) -> None:
        with self._lock:
            self.limit, self.window = limit, window_seconds
            self._hits.clear()

    def clear(self) -> None:
        with self._lock:
            self._hits.clear()

    def hit(self, endpoint: str, key: str) -> dict[str, str]:
        """Count one request; return the headers to send, or raise the 429."""
        moment = time.monotonic()
        with self._lock:
            hits = self._hits.setdefault((endpoint, key), deque())
            while hits and hits[0] <= moment - self.window:
                hits.popleft()
            allowed = len(hits) < self.limit
            if allowed:
                hits.append(moment)
            reset = max(0.0, hits[0] + self.window - moment) if hits else self.window
            headers = {
                "Rate-Limit-Limit": str(self.limit),
                "Rate-Limit-Remaining": str(self.limit - len(hits)),
                "Rate-Limit-Reset": f"{reset:.2f}",
            }
        if not allowed:
            raise XenditApiError(429, "RATE_LIMIT_EXCEEDED", RATE_LIMIT_MESSAGE, headers)
        return headers


def injected_headers(limit: Callable[[], int]) -> Callable[[int], dict[str, str]]:
    """The headers of an injected 429: Xendit's ``Rate-Limit-*``, the reset in seconds left, no
    ``Retry-After`` (the fault middleware's ``rate_limit_headers``)."""

    def headers(seconds: int) -> dict[str, str]:
        return {
            "Rate-Limit-Limit": str(limit()),
            "Rate-Limit-Remaining": "0",
            "Rate-Limit-Reset": f"{float(seconds):.2f}",
        }

    return headers
