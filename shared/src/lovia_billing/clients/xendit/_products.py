"""Xendit's other products as their APIs return them (ref §6-7; shapes from the official SDK).

Only the fields the confirmation reads are typed; unknown keys are ignored, because Xendit adds
fields by channel and by era. Money is ``Decimal``; ids are opaque strings.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class _Response(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class PaymentMethodRef(_Response):
    """The ``payment_method`` object of a payment request or capture (one channel object is set)."""

    id: str | None = None
    type: str | None = None
    ewallet: dict[str, Any] | None = None
    virtual_account: dict[str, Any] | None = None
    qr_code: dict[str, Any] | None = None
    direct_debit: dict[str, Any] | None = None
    over_the_counter: dict[str, Any] | None = None
    card: dict[str, Any] | None = None

    @property
    def channel_code(self) -> str | None:
        for channel in (
            self.ewallet,
            self.virtual_account,
            self.qr_code,
            self.direct_debit,
            self.over_the_counter,
            self.card,
        ):
            if channel and channel.get("channel_code"):
                return str(channel["channel_code"])
        return None


class PaymentRequest(_Response):
    """``GET /payment_requests/{id}`` (Payments API v2)."""

    id: str
    reference_id: str | None = None
    customer_id: str | None = None
    currency: str
    amount: Decimal | None = None
    status: str
    payment_method: PaymentMethodRef | None = None
    metadata: dict[str, Any] | None = None
    created: datetime
    updated: datetime


class Capture(_Response):
    """One capture of a payment request (``GET /payment_requests/{id}/captures``): the payment itself."""

    id: str
    payment_request_id: str
    payment_id: str
    reference_id: str | None = None
    currency: str
    authorized_amount: Decimal | None = None
    captured_amount: Decimal
    status: str
    metadata: dict[str, Any] | None = None
    created: datetime
    updated: datetime


class CaptureList(_Response):
    data: tuple[Capture, ...] = ()
    has_more: bool = False


class CycleAttempt(_Response):
    attempt_number: int | None = None
    created: datetime | None = None
    status: str | None = None
    action_id: str | None = None
    payment_id: str | None = None
    failure_code: str | None = None


class RecurringCycle(_Response):
    """``GET /recurring/plans/{plan_id}/cycles/{cycle_id}``."""

    id: str
    plan_id: str
    reference_id: str | None = None
    customer_id: str | None = None
    cycle_number: int | None = None
    status: str
    currency: str
    amount: Decimal
    attempt_details: tuple[CycleAttempt, ...] = ()
    metadata: dict[str, Any] | None = None
    created: datetime | None = None
    updated: datetime

    def succeeded_attempt(self) -> CycleAttempt | None:
        """The attempt that collected the money (the last SUCCEEDED one)."""
        paid = [a for a in self.attempt_details if a.status == "SUCCEEDED"]
        return paid[-1] if paid else None


class FvaPayment(_Response):
    """``GET /callback_virtual_account_payments/payment_id={id}``: a fixed-VA payment (it happened)."""

    id: str | None = None
    payment_id: str
    callback_virtual_account_id: str
    external_id: str
    account_number: str | None = None
    bank_code: str | None = None
    amount: Decimal
    currency: str = "IDR"
    transaction_timestamp: datetime


class EwalletCharge(_Response):
    """``GET /ewallets/charges/{id}``."""

    id: str
    reference_id: str | None = None
    status: str
    currency: str
    charge_amount: Decimal
    capture_amount: Decimal | None = None
    refunded_amount: Decimal | None = None
    channel_code: str | None = None
    checkout_method: str | None = None
    metadata: dict[str, Any] | None = None
    created: datetime
    updated: datetime


class Refund(_Response):
    """``GET /refunds/{id}``: a refund of an invoice payment (``invoice_id``) or of a payment request."""

    id: str
    payment_request_id: str | None = None
    invoice_id: str | None = None
    payment_id: str | None = None
    amount: Decimal
    currency: str
    status: str
    reason: str | None = None
    reference_id: str | None = None
    channel_code: str | None = None
    metadata: dict[str, Any] | None = None
    created: datetime
    updated: datetime = Field(description="when it reached its status")
