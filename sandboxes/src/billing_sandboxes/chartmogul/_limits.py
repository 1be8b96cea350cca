"""ChartMogul's documented limits as ASGI middleware: 40 requests/s (→ 429) and 20 parallel
connections (→ 503). Parallel connections are counted as requests in flight.

The 429 carries no ``Retry-After``: ChartMogul documents none, and clients must not rely on one.
``/_sandbox/`` is exempt so tests can always inspect and steer the sandbox.
"""

from __future__ import annotations

import collections
import json
import time
from typing import Any

from billing_sandboxes._faults import ASGIApp, Receive, Scope, Send
from billing_sandboxes.chartmogul._bodies import RATE_LIMITED, TOO_MANY_CONNECTIONS


async def _refuse(send: Send, status: int, body: dict[str, Any]) -> None:
    raw = json.dumps(body).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(raw)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": raw})


class LimitsMiddleware:
    def __init__(self, app: ASGIApp, *, per_second: int, max_parallel: int) -> None:
        self.app = app
        self.per_second = per_second
        self.max_parallel = max_parallel
        self.in_flight = 0
        self._recent: collections.deque[float] = collections.deque()

    def reset(self) -> None:
        self._recent.clear()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith("/_sandbox/"):
            await self.app(scope, receive, send)
            return
        if self.in_flight >= self.max_parallel:
            await _refuse(send, 503, TOO_MANY_CONNECTIONS)
            return
        if not self._admit(time.monotonic()):
            await _refuse(send, 429, RATE_LIMITED)
            return
        self.in_flight += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.in_flight -= 1

    def _admit(self, now: float) -> bool:
        """Sliding one-second window; refused requests do not count against the client."""
        while self._recent and now - self._recent[0] >= 1.0:
            self._recent.popleft()
        if len(self._recent) >= self.per_second:
            return False
        self._recent.append(now)
        return True

    def snapshot(self) -> dict[str, Any]:
        return {"in_flight": self.in_flight, "per_second": self.per_second, "max_parallel": self.max_parallel}
