"""What paying an invoice through each channel adds to it, and the flat callback body (ref §3).

Field presence differs by channel as in Xendit's own examples: virtual accounts carry ``bank_code``
and ``payment_destination``; e-wallets ``payment_method_id`` and ``ewallet_type``; QR codes
``payment_details``; retail outlets a payment code; cards a ``credit_card_charge_id``. Every paid
invoice carries the ``payment_id`` of the money movement (``ewc_…`` for e-wallets, ``qrpy_…`` for
QR, ``ddpy-…`` for direct debit, a numeric id for virtual accounts as in fixed-VA payments).

A channel is payable only for an invoice in its country's currency: Indonesian channels for IDR,
Philippine ones (GCASH, PAYMAYA, GRABPAY, 7ELEVEN, CEBUANA, DD_BPI, DD_UBP, ...) for PHP; cards
for any currency.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from billing_sandboxes.xendit._clock import iso
from billing_sandboxes.xendit._errors import XenditApiError, validation_error


@dataclass(frozen=True)
class Channel:
    method: str  # the invoice's payment_method
    kind: str  # va, retail, ewallet, qr, direct_debit, paylater, card
    currency: str | None  # the invoice currency it serves; None: any


def _channels(currency: str | None, method: str, kind: str, *names: str) -> dict[str, Channel]:
    return dict.fromkeys(names, Channel(method, kind, currency))


CHANNELS: dict[str, Channel] = {
    **_channels(
        "IDR", "BANK_TRANSFER", "va", "BCA", "BNI", "BRI", "MANDIRI", "PERMATA", "BSI", "BJB", "CIMB"
    ),
    **_channels("IDR", "BANK_TRANSFER", "va", "SAHABAT_SAMPOERNA", "BNC"),
    **_channels("IDR", "QR_CODE", "qr", "QRIS"),
    **_channels("IDR", "EWALLET", "ewallet", "OVO", "DANA", "SHOPEEPAY", "LINKAJA", "ASTRAPAY", "JENIUSPAY"),
    **_channels("IDR", "RETAIL_OUTLET", "retail", "ALFAMART", "INDOMARET"),
    **_channels("IDR", "DIRECT_DEBIT", "direct_debit", "DD_BRI", "DD_MANDIRI"),
    **_channels("IDR", "PAYLATER", "paylater", "KREDIVO", "AKULAKU", "ATOME"),
    **_channels("PHP", "EWALLET", "ewallet", "GCASH", "PAYMAYA", "GRABPAY"),
    **_channels("PHP", "RETAIL_OUTLET", "retail", "7ELEVEN", "CEBUANA", "ECPAY", "PALAWAN", "MLHUILLIER"),
    **_channels("PHP", "DIRECT_DEBIT", "direct_debit", "DD_BPI", "DD_UBP", "DD_RCBC", "DD_BDO_EPAY"),
    **_channels("PHP", "QR_CODE", "qr", "QRPH"),
    **_channels(None, "CREDIT_CARD", "card", "CREDIT_CARD"),
}

#: Fields of the invoice object that the flat callback carries (PY7 ``invoice_callback.py``).
CALLBACK_FIELDS = (
    "id",
    "external_id",
    "user_id",
    "is_high",
    "status",
    "merchant_name",
    "amount",
    "created",
    "updated",
    "currency",
    "payer_email",
    "description",
    "paid_amount",
    "paid_at",
    "payment_method",
    "payment_channel",
    "payment_destination",
    "bank_code",
    "payment_id",
    "payment_method_id",
    "ewallet_type",
    "payment_details",
    "credit_card_charge_id",
    "adjusted_received_amount",
    "fees_paid_amount",
    "success_redirect_url",
    "failure_redirect_url",
    "items",
    "fees",
    "should_authenticate_credit_card",
)


def available(currency: str, kind: str) -> list[str]:
    """The channels of ``kind`` an invoice in ``currency`` offers."""
    return [name for name, ch in CHANNELS.items() if ch.kind == kind and ch.currency == currency]


def va_payment_id() -> str:
    """Xendit's VA payment ids are numeric strings (``1502450097080`` in its fixed-VA example)."""
    return str(10**12 + secrets.randbelow(9 * 10**12))


def payment_fields(
    channel: str,
    currency: str,
    amount: Decimal,
    paid_at: datetime,
    *,
    method: str | None = None,
    fee: Decimal | None = None,
) -> dict[str, Any]:
    """The fields a payment through ``channel`` sets on an invoice in ``currency``."""
    if channel not in CHANNELS:
        raise validation_error(f"channel must be one of {', '.join(CHANNELS)}")
    spec = CHANNELS[channel]
    if spec.currency not in (None, currency):
        raise XenditApiError(
            400,
            "UNSUPPORTED_CURRENCY",
            f"{channel} is for {spec.currency} invoices; this invoice is in {currency}",
        )
    fields: dict[str, Any] = {
        "is_high": False,
        "paid_amount": amount,
        "paid_at": iso(paid_at),
        "payment_method": method or spec.method,
        "payment_channel": channel,
        "updated": iso(paid_at),
    }
    if spec.kind == "va":
        va_number = "8808" + str(secrets.randbelow(10**8)).zfill(8)
        fields |= {"bank_code": channel, "payment_destination": va_number, "payment_id": va_payment_id()}
    elif spec.kind == "retail":
        code = "TEST" + str(secrets.randbelow(10**6))
        fields |= {"payment_destination": code, "payment_id": f"ropy_{uuid.uuid4()}"}
    elif spec.kind == "ewallet":
        fields |= {
            "payment_id": f"ewc_{uuid.uuid4()}",
            "payment_method_id": f"pm-{uuid.uuid4()}",
            "ewallet_type": channel,
        }
    elif spec.kind == "qr":
        fields |= {
            "payment_id": f"qrpy_{uuid.uuid4()}",
            "payment_details": {"receipt_id": str(secrets.randbelow(10**12)), "source": "DANA"},
        }
    elif spec.kind == "direct_debit":
        fields |= {"payment_id": f"ddpy-{uuid.uuid4()}", "payment_method_id": f"pm-{uuid.uuid4()}"}
    elif spec.kind == "paylater":
        fields |= {"payment_id": f"plpy-{uuid.uuid4()}"}
    elif spec.kind == "card":
        charge_id = secrets.token_hex(12)
        fields |= {"credit_card_charge_id": charge_id, "payment_id": charge_id}
    if fee is not None:  # legacy fields: what reached the balance after Xendit's fee
        fields |= {"adjusted_received_amount": amount - fee, "fees_paid_amount": 0}
    return fields


def callback_body(invoice: dict[str, Any]) -> dict[str, Any]:
    """The flat invoice callback for the invoice's current state (no envelope)."""
    return {name: invoice[name] for name in CALLBACK_FIELDS if invoice.get(name) is not None}
