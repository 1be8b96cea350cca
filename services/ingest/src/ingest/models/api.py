"""Request and response bodies of the internal ``/v1`` API (the OpenAPI document is built from these)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from lovia_billing import Amount, Currency, InvoiceLine, ServicePeriod, check_precision
from lovia_billing.ledger import IntegrationStatus

_EXAMPLE_CUSTOMER: Any = {
    "email": "budi@example.co.id",
    "name": "Budi Santoso",
    "company": "PT Contoh Digital",
    "phone": "+6281234567890",
    "country": "ID",
    "plan": "pro-monthly",
}
_EXAMPLE_INVOICE: Any = {
    "invoice_id": "inv_2026_0001",
    "customer_id": "cus_0001",
    "currency": "IDR",
    "amount": "150000",
    "lines": [
        {"item_code": "PLAN-PRO", "description": "Pro plan, December", "quantity": 1, "unit_amount": "150000"}
    ],
    "description": "Lovia Pro, December 2026",
    "payer_email": "budi@example.co.id",
    "subscription_id": "sub_0001",
    "plan_id": "pro-monthly",
    "period": {"start": "2026-12-01", "end": "2026-12-31"},
    "due_date": "2026-12-08",
}


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class CustomerUpsert(_Body):
    """``PUT /v1/customers/{customer_id}``: the customer as Lovia knows it now."""

    model_config = ConfigDict(json_schema_extra={"examples": [_EXAMPLE_CUSTOMER]})
    email: str = Field(max_length=254)
    name: str = Field(min_length=1, max_length=140)
    company: str | None = Field(default=None, max_length=140)
    phone: str | None = Field(default=None, max_length=40)
    country: str | None = Field(default=None, min_length=2, max_length=2, description="ISO 3166-1 alpha-2")
    plan: str | None = Field(default=None, max_length=140)


class InvoiceCreate(_Body):
    """``POST /v1/invoices``: ask for an invoice; ``invoice_id`` is yours and identifies it forever.

    Amounts are integers or plain decimal strings (never JSON floats, never exponents); ``amount``
    must equal the sum of the lines; IDR and VND amounts have no decimals; every amount is at most
    the currency's maximum (IDR 10,000,000,000; VND 100,000,000,000; PHP, USD, MYR, THB 100,000,000).
    """

    model_config = ConfigDict(json_schema_extra={"examples": [_EXAMPLE_INVOICE]})
    invoice_id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._:@\-]{0,127}$")
    customer_id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._:@\-]{0,127}$")
    currency: Currency
    amount: Amount
    lines: list[InvoiceLine] = Field(min_length=1, max_length=75)
    description: str = Field(min_length=1, max_length=1000)
    payer_email: str = Field(max_length=254)
    subscription_id: str | None = Field(default=None, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:@\-]{0,127}$")
    plan_id: str | None = Field(default=None, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:@\-]{0,127}$")
    period: ServicePeriod | None = None
    due_date: date | None = None

    # Checked here, field by field, so that a refusal names the field (``body.amount``); the event
    # checks the same again when it is built.
    @field_validator("amount")
    @classmethod
    def _amount_fits_currency(cls, amount: Decimal, info: ValidationInfo) -> Decimal:
        currency = info.data.get("currency")
        if currency is not None:
            check_precision(amount, currency)
        return amount

    @field_validator("lines")
    @classmethod
    def _lines_fit_currency(cls, lines: list[InvoiceLine], info: ValidationInfo) -> list[InvoiceLine]:
        currency = info.data.get("currency")
        if currency is not None:
            for index, line in enumerate(lines):
                check_precision(line.unit_amount, currency, f"lines[{index}].unit_amount")
                check_precision(line.amount, currency, f"lines[{index}] (quantity x unit_amount)")
        return lines


class SubscriptionCancel(_Body):
    """``POST /v1/subscriptions/{subscription_id}/cancel``."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"customer_id": "cus_0001", "cancelled_at": "2026-12-31T23:59:59Z", "reason": "downgrade"}
            ]
        }
    )
    customer_id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._:@\-]{0,127}$")
    cancelled_at: AwareDatetime = Field(
        description="when the subscription ends; a time zone is required (`Z` or `+07:00`)"
    )
    reason: str | None = Field(default=None, max_length=500)


class Accepted(BaseModel):
    """202: the event is on its queues; follow it at ``status_url``."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "event_id": "0c1f3c8e-4b7a-5d55-9a57-2f1c9d1e7a10",
                    "status_url": "/v1/events/0c1f3c8e-4b7a-5d55-9a57-2f1c9d1e7a10",
                }
            ]
        }
    )
    event_id: str = Field(description="the event's id: the same request always gets the same one")
    status_url: str = Field(description="where the event's status in each integration is shown")


class IntegrationStatusView(BaseModel):
    """The event in one integration: where it is, how many deliveries it took, the last error."""

    status: IntegrationStatus = Field(
        description="queued, not_queued (the queue did not take it), processing, done, retrying or dead"
    )
    attempts: int = Field(description="deliveries to the integration's consumer so far")
    last_error: str | None = Field(default=None, description="why the last attempt failed, if it did")
    updated_at: datetime | None = Field(default=None, description="when the integration last reported")


class EventStatus(BaseModel):
    """``GET /v1/events/{event_id}``: the event and its status in each integration it was routed to."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "event_id": "0c1f3c8e-4b7a-5d55-9a57-2f1c9d1e7a10",
                    "event_type": "invoice.issued",
                    "customer_id": "cus_0001",
                    "created_at": "2026-11-25T03:00:00Z",
                    "integrations": {
                        "erpnext": {"status": "done", "attempts": 1},
                        "chartmogul": {"status": "retrying", "attempts": 2, "last_error": "429"},
                        "mautic": {"status": "queued", "attempts": 0},
                    },
                    "event": {"type": "invoice.issued", "invoice_id": "inv_2026_0001"},
                }
            ]
        }
    )
    event_id: str
    event_type: str = Field(description="e.g. invoice.requested, payment.succeeded")
    customer_id: str = Field(
        description="our customer id: the message group, so one customer's events stay in order"
    )
    created_at: datetime = Field(description="when the ingest accepted the event")
    integrations: dict[str, IntegrationStatusView] = Field(
        description="one entry per integration the event was routed to"
    )
    event: dict[str, Any] = Field(description="the event as queued")


class WebhookAccepted(BaseModel):
    """200 to Xendit: the callback is queued (or was already); ``ignored``: nothing to book, nothing
    queued (Xendit is answered 200 so it does not retry)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"event_id": "3b0f6a52-9c4e-5e0e-8d57-6f1a2b3c4d5e", "status": "accepted"},
                {"event_id": "8f7e6d5c-4b3a-5291-8a7b-6c5d4e3f2a1b", "status": "ignored"},
            ]
        }
    )
    event_id: str = Field(description="the same callback, delivered again, gets the same id")
    status: str = Field(default="accepted", description="accepted (queued) or ignored (moves no money)")
