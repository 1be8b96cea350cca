"""A tiny integration for testing the consumer runtime on its own, without the four real ones.

Its handler does what a real one does, against a recording HTTP endpoint on loopback:

1. ``POST /started`` (so a test can see that a handler is under way, e.g. before killing it);
2. sleeps ``EXAMPLE_SLEEP_SECONDS`` (a slow downstream);
3. ``POST /effects`` — the one effect that must happen exactly once — and maps the answer the way
   every integration maps its downstream: 2xx ok, 429 → ``RateLimited(retry_after=Retry-After)``,
   5xx → ``DownstreamUnavailable``, other 4xx → ``PermanentError``, timeout → ``DownstreamTimeout``.

Faults are scripted on the recorder per event id (``Recorder.fail(event_id, status, times=...)``):
fail N times, fail for ever (permanent), or answer 429 with ``Retry-After``; or for every event at
once (``Recorder.down = 503`` until set back to None), as a downstream outage does.

Run in-process (``build(settings)``) or as a process: ``python -m billing_testing.example_consumer``
with ``EXAMPLE_RECORDER_URL`` (and the usual ``BILLING_STAGE``, ``AWS_ENDPOINT_URL``, ``CONSUMER_*``).
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import httpx
from pydantic import Field

from lovia_billing import (
    ConsumerSettings,
    DomainEvent,
    DownstreamTimeout,
    DownstreamUnavailable,
    Integration,
    PermanentError,
    RateLimited,
)
from lovia_billing.consumer import HandlerContext, IntegrationApp, run_consumer
from lovia_billing.topology import handled_by

__all__ = ["ExampleSettings", "Fault", "Recorder", "build", "main"]


class ExampleSettings(ConsumerSettings):
    example_recorder_url: str = Field(description="base URL of the Recorder")
    example_sleep_seconds: float = Field(default=0.0, ge=0, description="handler latency before the effect")
    example_integration: Integration = Field(default=Integration.ERPNEXT, description="queue to consume")
    example_worker: str = Field(default_factory=lambda: f"pid-{os.getpid()}", description="name in records")


@dataclass
class Fault:
    status: int
    times: int | None  # None: for ever
    retry_after: float | None = None


@dataclass
class Recorder:
    """A raw ASGI app that records calls, in memory, thread-safe (uvicorn serves it in a thread)."""

    started: list[dict[str, Any]] = field(default_factory=list)
    attempts: list[dict[str, Any]] = field(default_factory=list)  # every /effects call, failed or not
    effects: list[dict[str, Any]] = field(default_factory=list)  # the successful ones only
    faults: dict[str, Fault] = field(default_factory=dict)
    down: int | None = None  # while set, every /effects call answers this status (an outage)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def fail(
        self, event_id: str, status: int, *, times: int | None = 1, retry_after: float | None = None
    ) -> None:
        with self._lock:
            self.faults[event_id] = Fault(status, times, retry_after)

    def effects_of(self, event_id: str) -> list[dict[str, Any]]:
        with self._lock:
            return [e for e in self.effects if e["event_id"] == event_id]

    def attempts_of(self, event_id: str) -> list[dict[str, Any]]:
        with self._lock:
            return [a for a in self.attempts if a["event_id"] == event_id]

    def _answer(self, path: str, record: dict[str, Any]) -> tuple[int, dict[str, str]]:
        record["at"] = time.time()
        with self._lock:
            if path == "/started":
                self.started.append(record)
                return 200, {}
            fault = self.faults.get(record["event_id"])
            status, headers = 200, {}
            if self.down is not None:
                status = self.down
            elif fault is not None and (fault.times is None or fault.times > 0):
                status = fault.status
                if fault.retry_after is not None:
                    headers["retry-after"] = f"{fault.retry_after:g}"
                if fault.times is not None:
                    fault.times -= 1
            self.attempts.append({**record, "status": status})
            if status == 200:
                self.effects.append(record)
            return status, headers

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while (message := await receive())["type"] != "lifespan.shutdown":
                await send({"type": message["type"] + ".complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        status, headers = 404, dict[str, str]()
        if scope["method"] == "POST" and scope["path"] in ("/started", "/effects"):
            status, headers = self._answer(scope["path"], json.loads(body))
        raw_headers = [
            (k.encode(), v.encode()) for k, v in {**headers, "content-type": "application/json"}.items()
        ]
        await send({"type": "http.response.start", "status": status, "headers": raw_headers})
        await send({"type": "http.response.body", "body": b"{}"})


def _record(event: DomainEvent, ctx: HandlerContext, worker: str) -> dict[str, Any]:
    return {
        "event_id": event.event_id,
        "customer_id": event.customer_id,
        "seq": getattr(event, "request_key", None),  # CustomerUpserted: tests number their events here
        "worker": worker,
        "attempt": ctx.attempt,
        "correlation_id": ctx.correlation_id,
    }


def build(settings: ExampleSettings) -> IntegrationApp:
    """The example integration: one handler for every event type its queue receives."""
    http = httpx.AsyncClient(base_url=settings.example_recorder_url, timeout=10.0)

    async def handle(event: DomainEvent, ctx: HandlerContext) -> None:
        record = _record(event, ctx, settings.example_worker)
        record["started_at"] = time.time()
        try:
            await http.post("/started", json=record)
            await asyncio.sleep(settings.example_sleep_seconds)
            response = await http.post("/effects", json=record)
        except httpx.TimeoutException as exc:
            raise DownstreamTimeout(f"recorder: {exc}") from exc
        except httpx.TransportError as exc:
            raise DownstreamUnavailable(f"recorder: {exc}") from exc
        if response.status_code == 429:
            raise RateLimited("recorder: 429", retry_after=float(response.headers.get("retry-after", "1")))
        if response.status_code >= 500:
            raise DownstreamUnavailable(f"recorder: {response.status_code}")
        if response.status_code >= 400:
            raise PermanentError(f"recorder refused the event: {response.status_code}")

    integration = settings.example_integration
    return IntegrationApp(integration, dict.fromkeys(handled_by(integration), handle), resources=[http])


def main() -> None:
    sys.exit(run_consumer(build, ExampleSettings()))  # every field from the environment


if __name__ == "__main__":
    main()
