"""Other Xendit products' callbacks: booked when their metadata names our invoice and customer."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import pytest

from billing_testing.context import RecordingContext
from lovia_billing import (
    Integration,
    PaymentSucceeded,
    PermanentError,
    XenditFvaPaid,
    XenditPayment,
    XenditRecurringCycle,
)
from lovia_billing.clients.xendit import XenditClient
from xendit_sync.handlers import XenditHandlers
from xendit_sync.settings import XenditSyncSettings

OURS = {"lovia_customer_id": "cus_1", "lovia_invoice_id": "inv_9"}


@pytest.fixture
async def handlers() -> AsyncIterator[XenditHandlers]:
    # These handlers make no Xendit call; the client is never used.
    settings = XenditSyncSettings(xendit_base_url="http://127.0.0.1:9", xendit_secret_key="k")
    async with XenditClient(settings.xendit_base_url, "k") as client:
        yield XenditHandlers(client, settings)


def cycle(event: str, metadata: dict[str, str]) -> XenditRecurringCycle:
    payload: dict[str, Any] = {
        "event": event,
        "business_id": "5f27a14a9bf05c73dd040bc8",
        "created": "2026-11-25T01:00:00.123456789Z",
        "data": {
            "id": "recy_1",
            "plan_id": "repl_1",
            "status": "SUCCEEDED",
            "currency": "IDR",
            "amount": 150000,
            "metadata": metadata,
            "attempt_details": [
                {"attempt_number": 1, "created": "2026-11-25T00:59:00Z", "action_id": "py-1"}
            ],
            "updated": "2026-11-25T00:59:30Z",
        },
    }
    return XenditRecurringCycle.create(
        customer_id="cus_1", key=f"recy_1:{event}", event=event, payload=payload
    )


async def test_succeeded_cycle_naming_our_invoice_is_a_payment(handlers: XenditHandlers) -> None:
    ctx = RecordingContext(Integration.XENDIT)
    await handlers.on_recurring_cycle(cycle("recurring.cycle.succeeded", OURS), ctx)
    (payment,) = ctx.published
    assert isinstance(payment, PaymentSucceeded)
    assert (payment.invoice_id, payment.xendit_invoice_id, payment.payment_id) == ("inv_9", "recy_1", "py-1")
    assert payment.amount == Decimal(150000)


async def test_succeeded_cycle_without_our_metadata_is_permanent(handlers: XenditHandlers) -> None:
    ctx = RecordingContext(Integration.XENDIT)
    with pytest.raises(PermanentError, match="metadata lacks lovia_invoice_id"):
        await handlers.on_recurring_cycle(cycle("recurring.cycle.succeeded", {"lovia_customer_id": "c"}), ctx)


async def test_other_cycle_events_book_nothing(handlers: XenditHandlers) -> None:
    ctx = RecordingContext(Integration.XENDIT)
    await handlers.on_recurring_cycle(cycle("recurring.cycle.created", OURS), ctx)
    assert ctx.published == []


async def test_payment_succeeded_is_a_payment(handlers: XenditHandlers) -> None:
    data = {
        "id": "py-7",
        "payment_request_id": "pr-7",
        "status": "SUCCEEDED",
        "currency": "PHP",
        "amount": Decimal("1499.50"),
        "payment_method": {"type": "EWALLET", "ewallet": {"channel_code": "GCASH"}},
        "metadata": OURS,
        "created": "2026-11-25T00:00:00Z",
        "updated": "2026-11-25T00:00:05Z",
    }
    event = XenditPayment.create(
        customer_id="cus_1",
        key="py-7",
        event="payment.succeeded",
        payload={"event": "payment.succeeded", "data": data},
    )
    ctx = RecordingContext(Integration.XENDIT)
    await handlers.on_payment(event, ctx)
    (payment,) = ctx.published
    assert isinstance(payment, PaymentSucceeded)
    assert (payment.method, payment.channel, payment.amount) == ("EWALLET", "GCASH", Decimal("1499.50"))
    assert payment.xendit_invoice_id == "pr-7"


async def test_fixed_va_payment_cannot_be_attributed(handlers: XenditHandlers) -> None:
    payload = {"payment_id": "fva-pay-1", "external_id": "va-cus_1", "amount": 150000, "bank_code": "BCA"}
    event = XenditFvaPaid.create(customer_id="cus_1", key="fva-pay-1", event="fva_paid", payload=payload)
    with pytest.raises(PermanentError, match=r"fva-pay-1.*carries no metadata"):
        await handlers.on_fva_paid(event, RecordingContext(Integration.XENDIT))
