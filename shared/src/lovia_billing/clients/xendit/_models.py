"""Xendit's invoice objects as typed models (ref §2), money as ``Decimal``.

Responses ignore unknown keys (Xendit adds fields by channel and by era); requests forbid them.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

InvoiceStatus = Literal["PENDING", "PAID", "SETTLED", "EXPIRED"]
PAID_STATUSES: frozenset[str] = frozenset({"PAID", "SETTLED"})


class _Response(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class InvoiceCustomer(BaseModel):
    """The invoice's ``customer`` object; ``customer_id`` is ours."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    customer_id: str | None = None
    given_names: str | None = None
    surname: str | None = None
    email: str | None = None
    mobile_number: str | None = None
    phone_number: str | None = None


class InvoiceItem(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    name: str
    price: Decimal
    quantity: int = Field(ge=0)
    reference_id: str | None = None
    category: str | None = None
    url: str | None = None


class InvoiceFee(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    type: str
    value: Decimal


class CreateInvoiceRequest(_Request):
    """The body of ``POST /v2/invoices`` (the fields we use; ref §2.1)."""

    external_id: str = Field(min_length=1)
    amount: Decimal = Field(gt=0)
    currency: str | None = None
    description: str | None = None
    payer_email: str | None = None
    invoice_duration: int | None = Field(default=None, ge=1)
    customer: InvoiceCustomer | None = None
    items: tuple[InvoiceItem, ...] | None = Field(default=None, max_length=75)
    fees: tuple[InvoiceFee, ...] | None = Field(default=None, max_length=10)
    metadata: dict[str, str] | None = Field(default=None, max_length=50)
    should_send_email: bool | None = None
    success_redirect_url: str | None = None
    failure_redirect_url: str | None = None
    payment_methods: tuple[str, ...] | None = None
    locale: str | None = None


class Invoice(_Response):
    """An invoice as ``GET /v2/invoices/{id}`` returns it (ref §2.2, plus the payment fields of §3)."""

    id: str
    external_id: str
    user_id: str | None = None
    status: str
    merchant_name: str | None = None
    amount: Decimal
    currency: str | None = None
    invoice_url: str
    expiry_date: datetime
    created: datetime
    updated: datetime
    description: str | None = None
    payer_email: str | None = None
    customer: InvoiceCustomer | None = None
    metadata: dict[str, Any] | None = None
    items: tuple[InvoiceItem, ...] | None = None
    fees: tuple[InvoiceFee, ...] | None = None
    # Set once paid (present on paid invoices and in the PAID callback):
    paid_amount: Decimal | None = None
    paid_at: datetime | None = None
    payment_method: str | None = None
    payment_channel: str | None = None
    payment_destination: str | None = None
    bank_code: str | None = None
    payment_id: str | None = None
    payment_method_id: str | None = None
    ewallet_type: str | None = None
    credit_card_charge_id: str | None = None
    #: Legacy: what reached the merchant's balance after Xendit's fee.
    adjusted_received_amount: Decimal | None = None
    fees_paid_amount: Decimal | None = None

    @property
    def is_paid(self) -> bool:
        return self.status in PAID_STATUSES
