"""Fault injection shared by every sandbox, as plain ASGI middleware.

Tests and the reliability suite steer a sandbox through its ``/_sandbox/faults`` side door:

    POST   /_sandbox/faults   {"kind": "status", "status": 502, "path": "/api/resource", "count": 2}
    GET    /_sandbox/faults   the rules with how often each has fired
    DELETE /_sandbox/faults   clear every rule

Kinds:

* ``latency``: sleep ``latency_ms`` then serve normally.
* ``status``: answer ``status`` (with the sandbox's own error body for it) without touching state.
* ``rate_limit``: answer 429 with the sandbox's 429 body and the headers its real system sends to
  say "wait ``retry_after`` seconds" (``rate_limit_headers``: ``Retry-After`` for ERPNext, Xendit's
  ``Rate-Limit-Reset`` in seconds, Mautic's ``X-RateLimit-Reset`` as a Unix time, none for ChartMogul).
* ``timeout``: hold the request ``hang_ms`` (default 60 s) without answering, then serve it: the
  client gives up first, and the write may or may not have happened, as on a real network.
* ``commit_then_fail``: run the request (the write is committed), then throw its response away
  and answer ``status`` (default 504): the case that makes naive clients create duplicates.

A rule matches on ``method`` and a ``path`` prefix (both optional), fires with ``probability``
(deterministic when 1.0), at most ``count`` times when given.
"""

from __future__ import annotations

import asyncio
import json
import random
import threading
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any, Literal

from pydantic import BaseModel, Field

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

FaultKind = Literal["latency", "status", "rate_limit", "timeout", "commit_then_fail"]

#: Builds the body and extra headers a sandbox answers for an injected status.
ErrorBodyFactory = Callable[[int], tuple[dict[str, Any] | list[Any] | str, dict[str, str]]]
#: The headers a sandbox's injected 429 carries to ask for a wait of so many seconds.
RateLimitHeaders = Callable[[int], dict[str, str]]


class FaultRule(BaseModel):
    """One injected fault; see the module docstring."""

    kind: FaultKind
    method: str | None = None
    path: str | None = Field(default=None, description="path prefix the rule applies to")
    probability: float = Field(default=1.0, ge=0.0, le=1.0)
    count: int | None = Field(default=None, ge=1, description="fire at most this many times")
    status: int | None = None
    latency_ms: int = Field(default=0, ge=0)
    hang_ms: int = Field(default=60_000, ge=0)
    retry_after: int = Field(default=1, ge=0, description="rate_limit: the wait the 429 asks for, seconds")
    fired: int = 0

    def matches(self, method: str, path: str) -> bool:
        if self.method and self.method.upper() != method.upper():
            return False
        if self.path and not path.startswith(self.path):
            return False
        if self.count is not None and self.fired >= self.count:
            return False
        return self.probability >= 1.0 or random.random() < self.probability


def default_error_body(status: int) -> tuple[dict[str, Any], dict[str, str]]:
    return {"error": f"injected fault {status}"}, {}


def retry_after_header(seconds: int) -> dict[str, str]:
    """RFC 9110's ``Retry-After`` in delta seconds (the default; each sandbox names its own)."""
    return {"Retry-After": str(seconds)}


class FaultInjector:
    """Holds the rules of one sandbox; thread-safe because tests poke it from other threads."""

    def __init__(self) -> None:
        self._rules: list[FaultRule] = []
        self._lock = threading.Lock()

    def add(self, rule: FaultRule) -> FaultRule:
        with self._lock:
            self._rules.append(rule)
        return rule

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()

    def rules(self) -> list[FaultRule]:
        with self._lock:
            return [rule.model_copy() for rule in self._rules]

    def pick(self, method: str, path: str) -> list[FaultRule]:
        """The rules that fire for this request (at most one of each kind), counted as fired."""
        chosen: dict[str, FaultRule] = {}
        with self._lock:
            for rule in self._rules:
                if rule.kind not in chosen and rule.matches(method, path):
                    rule.fired += 1
                    chosen[rule.kind] = rule
        return list(chosen.values())


async def _send_json(
    send: Send, status: int, body: dict[str, Any] | list[Any] | str, headers: dict[str, str]
) -> None:
    raw = body.encode() if isinstance(body, str) else json.dumps(body).encode()
    content_type = "text/html; charset=utf-8" if isinstance(body, str) else "application/json"
    header_list = [(b"content-type", content_type.encode()), (b"content-length", str(len(raw)).encode())]
    header_list += [(k.lower().encode(), v.encode()) for k, v in headers.items()]
    await send({"type": "http.response.start", "status": status, "headers": header_list})
    await send({"type": "http.response.body", "body": raw})


class FaultMiddleware:
    """Wraps a sandbox app; ``/_sandbox/faults`` is served here, everything else may be faulted."""

    def __init__(
        self,
        app: ASGIApp,
        injector: FaultInjector,
        error_body: ErrorBodyFactory = default_error_body,
        rate_limit_headers: RateLimitHeaders = retry_after_header,
    ) -> None:
        self.app = app
        self.injector = injector
        self.error_body = error_body
        self.rate_limit_headers = rate_limit_headers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        method: str = scope["method"]
        if path.rstrip("/") == "/_sandbox/faults":
            await self._serve_faults(method, receive, send)
            return
        if path.startswith("/_sandbox/"):
            await self.app(scope, receive, send)
            return
        rules = {rule.kind: rule for rule in self.injector.pick(method, path)}
        if "latency" in rules:
            await asyncio.sleep(rules["latency"].latency_ms / 1000)
        if "rate_limit" in rules:
            body, headers = self.error_body(429)
            headers = {**headers, **self.rate_limit_headers(rules["rate_limit"].retry_after)}
            await _send_json(send, 429, body, headers)
            return
        if "status" in rules:
            status = rules["status"].status or 500
            body, headers = self.error_body(status)
            await _send_json(send, status, body, headers)
            return
        if "timeout" in rules:
            await asyncio.sleep(rules["timeout"].hang_ms / 1000)
        if "commit_then_fail" in rules:
            await self._commit_then_fail(rules["commit_then_fail"], scope, receive, send)
            return
        await self.app(scope, receive, send)

    async def _commit_then_fail(self, rule: FaultRule, scope: Scope, receive: Receive, send: Send) -> None:
        async def swallow(_message: Message) -> None:
            return None

        await self.app(scope, receive, swallow)
        status = rule.status or 504
        body, headers = self.error_body(status)
        await _send_json(send, status, body, headers)

    async def _serve_faults(self, method: str, receive: Receive, send: Send) -> None:
        if method == "GET":
            await _send_json(send, 200, [r.model_dump() for r in self.injector.rules()], {})
            return
        if method == "DELETE":
            self.injector.clear()
            await _send_json(send, 200, {"cleared": True}, {})
            return
        if method != "POST":
            await _send_json(send, 405, {"error": "use GET, POST or DELETE"}, {})
            return
        raw = b""
        while True:
            message = await receive()
            raw += message.get("body", b"")
            if not message.get("more_body"):
                break
        try:
            rule = FaultRule.model_validate_json(raw)
        except ValueError as exc:
            await _send_json(send, 400, {"error": str(exc)}, {})
            return
        self.injector.add(rule)
        await _send_json(send, 201, rule.model_dump(), {})
