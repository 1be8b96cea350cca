"""One sandbox's state: config, every product's records, callbacks, rate limits, faults, timers."""

from __future__ import annotations

import asyncio
import base64
import binascii
import hmac
import itertools
from collections.abc import Callable
from typing import Any

from billing_sandboxes._faults import FaultInjector
from billing_sandboxes.xendit._callbacks import (
    DEFAULT_OPTIONS,
    CallbackSender,
    Delivery,
    DeliveryOptions,
    envelope,
)
from billing_sandboxes.xendit._config import XenditSandboxConfig
from billing_sandboxes.xendit._errors import XenditApiError, not_found
from billing_sandboxes.xendit._http import AnyRequest
from billing_sandboxes.xendit._invoices import InvoiceStore
from billing_sandboxes.xendit._ratelimit import RateLimiter
from billing_sandboxes.xendit._store import IdempotencyKeys, Store


def _store(what: str, code: str = "DATA_NOT_FOUND") -> Store:
    return Store(lambda object_id: not_found(what, object_id, code))


class XenditSandbox:
    """State of one sandbox. Product modules read and write the stores and send callbacks here."""

    def __init__(self, config: XenditSandboxConfig) -> None:
        self.config = config
        self.invoices = InvoiceStore()
        self.virtual_accounts = _store("Fixed virtual account", "CALLBACK_VIRTUAL_ACCOUNT_NOT_FOUND_ERROR")
        self.va_payments = Store(
            lambda payment_id: not_found("Payment", payment_id, "PAYMENT_NOT_FOUND_ERROR"), key="payment_id"
        )
        self.payment_methods = _store("Payment method")
        self.payment_requests = _store("Payment request")
        self.payments = _store("Payment")
        self.captures = _store("Capture")
        self.ewallet_charges = _store("E-wallet charge")
        self.plans = _store("Recurring plan_id")
        self.cycles = _store("Recurring cycle_id")
        self.refunds = _store("Refund")
        self.idempotency = IdempotencyKeys()
        self.callbacks = CallbackSender(config)
        self.limiter = RateLimiter(config.rate_limit, config.rate_limit_window_seconds)
        self.faults = FaultInjector()
        self._timers: dict[int, asyncio.TimerHandle] = {}
        self._timer_ids = itertools.count()

    # ---- requests -------------------------------------------------------------------------------

    def authorize(self, request: AnyRequest) -> dict[str, str]:
        """Basic auth with the secret key as username (empty password); then the rate limit.

        The budget is per endpoint, i.e. method + route template (``GET /v2/invoices/{invoice_id}``
        counts every id together), per API key.
        """
        header = request.headers.get("authorization", "")
        scheme, _, encoded = header.partition(" ")
        username = ""
        if scheme.lower() == "basic":
            try:
                username = base64.b64decode(encoded, validate=True).decode().partition(":")[0]
            except (binascii.Error, UnicodeDecodeError):
                username = ""
        if not username or not hmac.compare_digest(username.encode(), self.config.secret_key.encode()):
            raise XenditApiError(401, "INVALID_API_KEY", "API key format is invalid.")
        template = min(request.route_handler.paths)
        return self.limiter.hit(f"{request.method} {template}", username)

    # ---- callbacks ------------------------------------------------------------------------------

    def send(
        self,
        product: str,
        body: dict[str, Any],
        *,
        object_id: str,
        event: str,
        options: DeliveryOptions = DEFAULT_OPTIONS,
    ) -> list[Delivery]:
        """A flat callback (invoices, fixed VAs)."""
        return self.callbacks.emit(product, body, object_id=object_id, event=event, options=options)

    def send_event(
        self,
        product: str,
        event: str,
        data: dict[str, Any],
        *,
        options: DeliveryOptions = DEFAULT_OPTIONS,
        **extra: Any,
    ) -> list[Delivery]:
        """An ``{event, business_id, created, data}`` webhook about ``data["id"]``."""
        body = envelope(event, data, self.config.business_id, **extra)
        return self.callbacks.emit(product, body, object_id=data["id"], event=event, options=options)

    # ---- timers (invoice expiry) ----------------------------------------------------------------

    def call_later(self, delay: float, action: Callable[[], None]) -> None:
        """Run ``action`` on the event loop after ``delay`` real seconds (cancelled by reset)."""
        key = next(self._timer_ids)

        def fire() -> None:
            self._timers.pop(key, None)
            action()

        self._timers[key] = asyncio.get_running_loop().call_later(delay, fire)

    def cancel_timers(self) -> None:
        for timer in self._timers.values():
            timer.cancel()
        self._timers.clear()

    async def close(self) -> None:
        self.cancel_timers()
        await self.callbacks.close()

    # ---- the side door --------------------------------------------------------------------------

    def reconfigure(self, updates: dict[str, Any]) -> None:
        self.config = self.config.model_copy(update=updates)
        self.callbacks.config = self.config
        if {"rate_limit", "rate_limit_window_seconds"} & updates.keys():
            self.limiter.configure(self.config.rate_limit, self.config.rate_limit_window_seconds)

    def _stores(self) -> dict[str, Any]:
        return {
            "invoices": self.invoices,
            "virtual_accounts": self.virtual_accounts,
            "va_payments": self.va_payments,
            "payment_methods": self.payment_methods,
            "payment_requests": self.payment_requests,
            "payments": self.payments,
            "captures": self.captures,
            "ewallet_charges": self.ewallet_charges,
            "recurring_plans": self.plans,
            "recurring_cycles": self.cycles,
            "refunds": self.refunds,
        }

    def reset(self) -> None:
        self.cancel_timers()
        for store in self._stores().values():
            store.clear()
        self.idempotency.clear()
        self.callbacks.clear()
        self.limiter.clear()
        self.faults.clear()

    def state(self) -> dict[str, Any]:
        public = self.config.model_dump(exclude={"secret_key", "callback_token"})
        records = {name: store.all() for name, store in self._stores().items()}
        return {**records, "callbacks": len(self.callbacks.log()), "config": public}
