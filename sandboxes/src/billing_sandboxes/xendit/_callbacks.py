"""Delivering every product's callbacks the way Xendit does (ref §5), with a log tests can read.

* POST the body (flat for invoices and fixed VAs, an ``{event, business_id, created, data}``
  envelope for the newer products) to the product's URL (``XenditSandboxConfig.url_for``) with
  ``x-callback-token`` and ``webhook-id`` (the same id on retries, duplicate copies and manual
  resends of one event: it is the receiver's deduplication key).
* Any 2xx is delivered. Another status or a connection error is retried on Xendit's schedule
  (+15 min, +45 min, +2 h, +3 h, +6 h, +12 h), compressed by ``time_scale``; then *failed*.
* No answer within ``callback_timeout_seconds`` marks the delivery *timeout*, not retried; no URL
  configured marks it *url_not_set*, not retried. A manual resend is one attempt.
* On request: ``duplicates`` extra copies, ``shuffle`` (a random delay before each first attempt),
  or ``hold`` (keep in an outbox until ``release`` sends them in a chosen order).
* ``callbacks_enabled: false`` logs each attempt as *not_sent* (a missed callback); a manual
  resend after re-enabling delivers it.
"""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from collections.abc import Coroutine
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import httpx
import msgspec
from pydantic import BaseModel, ConfigDict, Field

from billing_sandboxes.xendit._clock import iso, now
from billing_sandboxes.xendit._config import XenditSandboxConfig

State = Literal["held", "pending", "delivered", "retrying", "failed", "timeout", "url_not_set", "not_sent"]
Order = Literal["fifo", "reverse", "shuffle"]

_JSON = msgspec.json.Encoder(decimal_format="number")


class DeliveryOptions(BaseModel):
    """How the callbacks an action sends are delivered (defaults: the sandbox's config)."""

    model_config = ConfigDict(extra="forbid")
    duplicates: int | None = Field(default=None, ge=0, le=20, description="extra copies")
    shuffle: bool | None = Field(default=None, description="random delay before each first attempt")
    hold: bool = Field(default=False, description="keep in the outbox until /_sandbox/callbacks/release")


DEFAULT_OPTIONS = DeliveryOptions()


def envelope(event: str, data: dict[str, Any], business_id: str, **extra: Any) -> dict[str, Any]:
    """The newer products' webhook body (``created`` is when Xendit sent it)."""
    return {"event": event, "business_id": business_id, "created": iso(now()), **extra, "data": data}


@dataclass
class Attempt:
    number: int
    at: str
    status_code: int | None = None
    error: str | None = None
    duration_ms: int = 0


@dataclass
class Delivery:
    """One copy of one callback on its way to the receiver."""

    id: str
    webhook_id: str
    product: str
    event: str
    object_id: str
    invoice_id: str | None
    url: str | None
    body: dict[str, Any]
    copy: int = 0
    resend_of: str | None = None
    state: State = "pending"
    created: str = field(default_factory=lambda: iso(now()))
    attempts: list[Attempt] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


class CallbackSender:
    """Owns every delivery and the tasks that run them (in the sandbox's event loop)."""

    def __init__(self, config: XenditSandboxConfig) -> None:
        self.config = config
        self._deliveries: dict[str, Delivery] = {}
        self._held: list[Delivery] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self._client: httpx.AsyncClient | None = None

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._client is not None:
            await self._client.aclose()

    def clear(self) -> None:
        for task in self._tasks:
            task.cancel()
        self._deliveries.clear()
        self._held.clear()

    def log(self, **match: str | None) -> list[dict[str, Any]]:
        """Deliveries whose fields equal every non-None ``match`` (e.g. ``product="payment"``)."""
        wanted = {key: value for key, value in match.items() if value is not None}
        return [
            d.as_json()
            for d in self._deliveries.values()
            if all(getattr(d, key) == value for key, value in wanted.items())
        ]

    def emit(
        self,
        product: str,
        body: dict[str, Any],
        *,
        object_id: str,
        event: str,
        options: DeliveryOptions = DEFAULT_OPTIONS,
    ) -> list[Delivery]:
        """Send ``body`` to ``product``'s URL as one event (plus duplicate copies)."""
        webhook_id = str(uuid.uuid4())
        copies = 1 + (self.config.duplicates if options.duplicates is None else options.duplicates)
        shuffle = self.config.shuffle if options.shuffle is None else options.shuffle
        invoice_id = object_id if product == "invoice" else None
        created = []
        for copy in range(copies):
            delivery = self._new(webhook_id, product, event, object_id, invoice_id, body, copy=copy)
            created.append(delivery)
            if options.hold:
                delivery.state = "held"
                self._held.append(delivery)
            else:
                delay = random.uniform(0, self.config.shuffle_window_ms / 1000) if shuffle else 0.0
                self._spawn(self._run(delivery, delay=delay, retries=True))
        return created

    def release(self, order: Order = "fifo") -> list[Delivery]:
        """Send the held callbacks one after another in ``order`` (first attempts in that order)."""
        held, self._held = self._held, []
        if order == "reverse":
            held.reverse()
        elif order == "shuffle":
            random.shuffle(held)
        for delivery in held:
            delivery.state = "pending"
        self._spawn(self._in_sequence(held))
        return held

    def resend(self, delivery_id: str) -> Delivery | None:
        """A manual resend (the Dashboard's "Resend"): the same body and webhook-id, one attempt."""
        original = self._deliveries.get(delivery_id)
        if original is None:
            return None
        delivery = self._new(
            original.webhook_id,
            original.product,
            original.event,
            original.object_id,
            original.invoice_id,
            original.body,
        )
        delivery.resend_of = original.id
        self._spawn(self._run(delivery, delay=0.0, retries=False))
        return delivery

    def _new(
        self,
        webhook_id: str,
        product: str,
        event: str,
        object_id: str,
        invoice_id: str | None,
        body: dict[str, Any],
        copy: int = 0,
    ) -> Delivery:
        delivery = Delivery(
            id=f"cbd_{uuid.uuid4().hex[:20]}",
            webhook_id=webhook_id,
            product=product,
            event=event,
            object_id=object_id,
            invoice_id=invoice_id,
            url=self.config.url_for(product),
            body=body,
            copy=copy,
        )
        self._deliveries[delivery.id] = delivery
        return delivery

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _in_sequence(self, deliveries: list[Delivery]) -> None:
        for delivery in deliveries:
            if not await self._attempt(delivery) and delivery.state == "retrying":
                self._spawn(self._retry(delivery))

    async def _run(self, delivery: Delivery, *, delay: float, retries: bool) -> None:
        if delay:
            await asyncio.sleep(delay)
        if not await self._attempt(delivery) and delivery.state == "retrying":
            if retries:
                await self._retry(delivery)
            else:
                delivery.state = "failed"

    async def _retry(self, delivery: Delivery) -> None:
        for gap in self.config.retry_gaps():
            await asyncio.sleep(gap)
            if await self._attempt(delivery) or delivery.state != "retrying":
                return
        delivery.state = "failed"

    async def _attempt(self, delivery: Delivery) -> bool:
        """One POST; True when delivered. Sets the state the schedule continues from."""
        if not self.config.callbacks_enabled:
            delivery.state = "not_sent"
            return False
        if delivery.url is None:
            delivery.state = "url_not_set"
            return False
        attempt = Attempt(number=len(delivery.attempts) + 1, at=iso(now()))
        delivery.attempts.append(attempt)
        started = time.monotonic()
        try:
            response = await self._http().post(
                delivery.url,
                content=_JSON.encode(delivery.body),
                headers={
                    "content-type": "application/json",
                    "x-callback-token": self.config.callback_token,
                    "webhook-id": delivery.webhook_id,
                    "user-agent": "Xendit-Sandbox/1.0",
                },
            )
        except httpx.TimeoutException:
            attempt.error = "timeout"
            delivery.state = "timeout"
            return False
        except httpx.TransportError as exc:
            attempt.error = f"{type(exc).__name__}: {exc}"
            delivery.state = "retrying"
            return False
        finally:
            attempt.duration_ms = int((time.monotonic() - started) * 1000)
        attempt.status_code = response.status_code
        delivered = 200 <= response.status_code < 300
        delivery.state = "delivered" if delivered else "retrying"
        return delivered

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=self.config.callback_timeout_seconds)
        return self._client
