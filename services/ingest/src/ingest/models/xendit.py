"""Xendit callback bodies as Xendit documents them (docs/xendit.md).

Lenient where Xendit varies (unknown keys allowed, channel-specific fields optional), strict where
it matters to us: ids, status, amount (a JSON number as Xendit sends it, exact, never a float nor
a string, within the currency's maximum) and currency. Timestamps are taken as Xendit writes them
(UTC with ``Z``); nothing is booked from a callback's own times (xendit_sync books from Xendit's
API copy), so they are not a reason to refuse a genuine payment. Each model knows its
natural key, so the same callback always becomes the same event id.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from lovia_billing import SUPPORTED_CURRENCIES, XenditProduct
from lovia_billing._money import CallbackAmount, check_maximum

_EXAMPLE_PAID: Any = {
    "id": "6748105a77f16ebe0cc583a7",
    "external_id": "inv_2026_0001",
    "user_id": "5f0c0bbf2c2c2c0012c0ffee",
    "status": "PAID",
    "merchant_name": "Lovia",
    "amount": 150000,
    "paid_amount": 150000,
    "currency": "IDR",
    "payment_method": "BANK_TRANSFER",
    "payment_channel": "BCA",
    "payment_destination": "880812345678",
    "payment_id": "pay_5f0c0bbf",
    "paid_at": "2026-11-25T03:04:05.123Z",
    "created": "2026-11-25T03:00:00.000Z",
    "updated": "2026-11-25T03:04:05.456Z",
}


def _supported(currency: str) -> str:
    if currency not in SUPPORTED_CURRENCIES:
        raise ValueError(
            f"unsupported currency {currency!r}; expected one of {', '.join(SUPPORTED_CURRENCIES)}"
        )
    return currency


def _within_currency_maximum(amount: Decimal | None, info: ValidationInfo) -> Decimal | None:
    """The currency's maximum (``currency`` is declared before the amounts so it is known here)."""
    currency = info.data.get("currency")
    if amount is not None and currency is not None:
        check_maximum(amount, currency, info.field_name or "amount")
    return amount


class _Callback(BaseModel):
    model_config = ConfigDict(extra="allow", str_strip_whitespace=True)


class InvoiceCallback(_Callback):
    """The flat invoice callback (``PAID``, ``SETTLED`` or ``EXPIRED``)."""

    model_config = ConfigDict(json_schema_extra={"examples": [_EXAMPLE_PAID]})
    id: str = Field(min_length=1, max_length=64)
    external_id: str = Field(min_length=1, max_length=255)
    user_id: str = Field(min_length=1)
    status: Literal["PAID", "SETTLED", "EXPIRED"]
    merchant_name: str
    currency: str
    amount: CallbackAmount
    created: datetime
    updated: datetime
    paid_amount: CallbackAmount | None = None
    paid_at: datetime | None = None
    payment_method: str | None = None
    payment_channel: str | None = None
    payment_id: str | None = None

    _currency = field_validator("currency")(_supported)
    _maximum = field_validator("amount", "paid_amount")(_within_currency_maximum)


class EnvelopeData(_Callback):
    id: str = Field(min_length=1)
    status: str | None = None
    reference_id: str | None = None
    customer_id: str | None = None
    metadata: dict[str, Any] | None = None


class EnvelopeCallback(_Callback):
    """Newer products (payment requests, recurring): ``{event, business_id, created, data}``."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "event": "recurring.cycle.succeeded",
                    "business_id": "5f0c0bbf2c2c2c0012c0ffee",
                    "created": "2026-11-25T03:04:05.908220358Z",
                    "data": {
                        "id": "recy-1234",
                        "status": "SUCCEEDED",
                        "reference_id": "sub_0001",
                        "customer_id": "cust-0001",
                        "plan_id": "repl-0001",
                        "cycle_number": 1,
                        "currency": "IDR",
                        "amount": 150000,
                        "metadata": {"lovia_customer_id": "cus_0001"},
                    },
                }
            ]
        }
    )
    event: str = Field(pattern=r"^[a-z_]+(\.[a-z_]+)+$")
    business_id: str
    created: datetime
    data: EnvelopeData

    def natural_key(self) -> str:
        # `created` is the delivery time, so it is never part of the key (ref §5).
        attempts = getattr(self.data, "attempt_details", None)
        last_attempt = ""
        if isinstance(attempts, list) and attempts and isinstance(attempts[-1], dict):
            last_attempt = str(attempts[-1].get("attempt_number", ""))
        return "|".join((self.event, self.data.id, self.data.status or "", last_attempt))

    def customer_hint(self) -> str:
        metadata = self.data.metadata or {}
        return str(
            metadata.get("lovia_customer_id")
            or self.data.reference_id
            or self.data.customer_id
            or self.data.id
        )


class FvaPaidCallback(_Callback):
    """Fixed virtual account payment (``fva_paid``): no status, receiving it means paid."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "5f0c0bbf2c2c2c0012c0aaaa",
                    "payment_id": "1502450097",
                    "callback_virtual_account_id": "5f0c0bbf2c2c2c0012c0bbbb",
                    "owner_id": "5f0c0bbf2c2c2c0012c0ffee",
                    "external_id": "cus_0001",
                    "account_number": "9999000001",
                    "bank_code": "BCA",
                    "amount": 150000,
                    "transaction_timestamp": "2026-11-25T03:04:05.000Z",
                    "merchant_code": "88608",
                    "currency": "IDR",
                }
            ]
        }
    )
    id: str = Field(min_length=1, max_length=255)
    payment_id: str = Field(min_length=1, max_length=255)
    callback_virtual_account_id: str = Field(min_length=1, max_length=255)
    owner_id: str = Field(min_length=1, max_length=255)
    external_id: str = Field(min_length=1, max_length=255)
    account_number: str = Field(min_length=1, max_length=64)
    bank_code: str = Field(min_length=1, max_length=64)
    currency: str = "IDR"
    amount: CallbackAmount
    transaction_timestamp: datetime

    _currency = field_validator("currency")(_supported)
    _maximum = field_validator("amount")(_within_currency_maximum)


#: Envelope events that can move money, by name, and the product whose API confirms them.
#: Everything else (plan activated, cycle created or failed, payment method events, failures) is
#: acknowledged and logged, never queued: nothing is booked from it.
MONEY_EVENTS: dict[str, XenditProduct] = {
    "payment.succeeded": XenditProduct.PAYMENT_REQUEST,
    "recurring.cycle.succeeded": XenditProduct.RECURRING,
    "ewallet.capture": XenditProduct.EWALLET,
    "refund.succeeded": XenditProduct.REFUND,
}


def money_product(callback: EnvelopeCallback) -> XenditProduct | None:
    """The product to confirm ``callback`` with, or None when it cannot lead to money in the books."""
    product = MONEY_EVENTS.get(callback.event)
    if product is XenditProduct.EWALLET and callback.data.status != "SUCCEEDED":
        return None  # ewallet.capture also reports PENDING, FAILED and VOIDED charges
    return product
