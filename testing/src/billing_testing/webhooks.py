"""A small local webhook receiver for tests: an ASGI app that records what is POSTed to it.

Serve it with the ``serve_asgi`` fixture and point a sandbox's callback URL at it. Bodies are
parsed with ``Decimal`` for numbers (money is never a float); ``answers`` are the statuses to
answer in turn (then 200).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: Any
    at: float


@dataclass
class WebhookReceiver:
    answers: list[int] = field(default_factory=list)
    received: list[Received] = field(default_factory=list)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        raw = b""
        while True:
            message = await receive()
            raw += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = {k.decode(): v.decode() for k, v in scope["headers"]}
        body = json.loads(raw, parse_float=Decimal) if raw else None
        self.received.append(Received(scope["path"], headers, body, time.monotonic()))
        status = self.answers.pop(0) if self.answers else 200
        await send({"type": "http.response.start", "status": status, "headers": []})
        await send({"type": "http.response.body", "body": b"{}"})

    def at(self, path_suffix: str) -> list[Received]:
        """What arrived at a path ending with ``path_suffix`` (e.g. ``/payment``), in order."""
        return [r for r in self.received if r.path.endswith(path_suffix)]

    def events(self, name: str) -> list[Received]:
        """Envelope webhooks whose ``event`` is ``name``."""
        return [r for r in self.received if isinstance(r.body, dict) and r.body.get("event") == name]
