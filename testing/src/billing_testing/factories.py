"""Valid events for tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from lovia_billing import (
    CustomerUpserted,
    DomainEvent,
    InvoiceIssued,
    InvoiceRequested,
    PaymentSucceeded,
    XenditInvoicePaid,
)


def customer(customer_id: str = "cus_1", **overrides: Any) -> CustomerUpserted:
    fields: dict[str, Any] = {
        "customer_id": customer_id,
        "request_key": "key-1",
        "email": f"{customer_id}@example.com",
        "name": "Budi Santoso",
    }
    return CustomerUpserted.create(**{**fields, **overrides})


def invoice_requested(
    invoice_id: str = "inv_1", customer_id: str = "cus_1", **overrides: Any
) -> InvoiceRequested:
    fields: dict[str, Any] = {
        "customer_id": customer_id,
        "invoice_id": invoice_id,
        "currency": "IDR",
        "amount": "150000",
        "lines": [{"item_code": "PLAN-PRO", "description": "Pro", "quantity": 1, "unit_amount": "150000"}],
        "description": "Pro plan, November",
        "payer_email": "budi@example.com",
    }
    return InvoiceRequested.create(**{**fields, **overrides})


def invoice_story(
    invoice_id: str,
    customer_id: str,
    *,
    xendit_invoice_id: str,
    payment_id: str | None = None,
    at: datetime | None = None,
) -> list[DomainEvent]:
    """An invoice's events in the order they happen: requested, issued, Xendit's callback and the
    confirmed payment (when ``payment_id`` is given), as the ingest and xendit_sync publish them."""
    at = at or datetime(2026, 11, 25, 3, 0, tzinfo=UTC)
    requested = invoice_requested(invoice_id, customer_id)
    fields = requested.model_dump(exclude={"event_id", "type"})
    issued = InvoiceIssued.create(
        **fields,
        xendit_invoice_id=xendit_invoice_id,
        invoice_url=f"https://checkout.xendit.co/web/{xendit_invoice_id}",
        issued_at=at,
        expires_at=at + timedelta(days=1),
    )
    story: list[DomainEvent] = [requested, issued]
    if payment_id is None:
        return story
    callback = XenditInvoicePaid.create(
        customer_id=customer_id,
        xendit_invoice_id=xendit_invoice_id,
        external_id=invoice_id,
        status="PAID",
        currency="IDR",
        amount=Decimal(150000),
        paid_amount=Decimal(150000),
        payment_id=payment_id,
        paid_at=at + timedelta(minutes=4),
    )
    paid = PaymentSucceeded.create(
        customer_id=customer_id,
        invoice_id=invoice_id,
        xendit_invoice_id=xendit_invoice_id,
        payment_id=payment_id,
        invoice_amount=Decimal(150000),
        currency="IDR",
        amount=Decimal(150000),
        method="BANK_TRANSFER",
        channel="BCA",
        paid_at=at + timedelta(minutes=4),
    )
    return [*story, callback, paid]
