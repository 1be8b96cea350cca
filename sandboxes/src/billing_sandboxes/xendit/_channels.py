"""What paying an invoice through each channel adds to it, and the flat callback body (ref §3).

Field presence differs by channel as in Xendit's own examples: virtual accounts carry ``bank_code``
and ``payment_destination`` but no ``payment_id``; e-wallets carry ``payment_id`` (``ewc_…``),
``payment_method_id`` and ``ewallet_type``; QRIS carries ``payment_details``; retail outlets a
payment code; cards a ``credit_card_charge_id``.
"""

from __future__ import annotations

import secrets
import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from billing_sandboxes.xendit._clock import iso
from billing_sandboxes.xendit._errors import validation_error

#: Channel → (payment_method, kind).
CHANNELS: dict[str, tuple[str, str]] = {
    **dict.fromkeys(("BCA", "BNI", "BRI", "MANDIRI", "PERMATA", "BSI"), ("BANK_TRANSFER", "va")),
    "QRIS": ("QR_CODE", "qr"),
    **dict.fromkeys(("OVO", "DANA", "SHOPEEPAY", "LINKAJA"), ("EWALLET", "ewallet")),
    "ALFAMART": ("RETAIL_OUTLET", "retail"),
    "INDOMARET": ("RETAIL_OUTLET", "retail"),
    "CREDIT_CARD": ("CREDIT_CARD", "card"),
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


def payment_fields(
    channel: str, amount: Decimal, paid_at: datetime, *, method: str | None = None, fee: Decimal | None = None
) -> dict[str, Any]:
    """The fields a payment through ``channel`` sets on the invoice."""
    if channel not in CHANNELS:
        raise validation_error(f"channel must be one of {', '.join(CHANNELS)}")
    default_method, kind = CHANNELS[channel]
    fields: dict[str, Any] = {
        "is_high": False,
        "paid_amount": amount,
        "paid_at": iso(paid_at),
        "payment_method": method or default_method,
        "payment_channel": channel,
        "updated": iso(paid_at),
    }
    if kind == "va":
        va_number = "8808" + str(secrets.randbelow(10**8)).zfill(8)
        fields |= {"bank_code": channel, "payment_destination": va_number}
    elif kind == "retail":
        fields |= {"payment_destination": "TEST" + str(secrets.randbelow(10**6))}
    elif kind == "ewallet":
        fields |= {
            "payment_id": f"ewc_{uuid.uuid4()}",
            "payment_method_id": f"pm-{uuid.uuid4()}",
            "ewallet_type": channel,
        }
    elif kind == "qr":
        fields |= {
            "payment_id": f"qrpy_{uuid.uuid4()}",
            "payment_details": {"receipt_id": str(secrets.randbelow(10**12)), "source": "DANA"},
        }
    elif kind == "card":
        fields |= {"credit_card_charge_id": secrets.token_hex(12)}
    if fee is not None:  # legacy fields: what reached the balance after Xendit's fee
        fields |= {"adjusted_received_amount": amount - fee, "fees_paid_amount": 0}
    return fields


def callback_body(invoice: dict[str, Any]) -> dict[str, Any]:
    """The flat invoice callback for the invoice's current state (no envelope)."""
    return {name: invoice[name] for name in CALLBACK_FIELDS if invoice.get(name) is not None}
