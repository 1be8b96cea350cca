"""What every product module shares: the confirmed claim, the owner, and the pure checks.

A product module confirms a callback in three small steps: fetch the API's copy (I/O), list the
problems between the callback and that copy (pure), and read the payment from the copy (pure).
Nothing is ever taken from the callback body but the ids used to fetch.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from lovia_billing import ConfirmationMismatch, XenditCallback, XenditProduct
from lovia_billing.xendit_events import CUSTOMER_KEY, INVOICE_KEY

__all__ = [
    "CUSTOMER_KEY",
    "INVOICE_KEY",
    "Owner",
    "OwnerHint",
    "PaymentClaim",
    "Problems",
    "claimed_amount",
    "not_found",
    "payload_data",
]


@dataclass(frozen=True)
class OwnerHint:
    """Whose payment it is, as the API's copy says (metadata, else the reference id)."""

    customer_id: str | None
    invoice_id: str | None

    @classmethod
    def from_copy(cls, metadata: Mapping[str, Any] | None, reference_id: str | None) -> OwnerHint:
        metadata = metadata or {}
        customer = metadata.get(CUSTOMER_KEY)
        invoice = metadata.get(INVOICE_KEY) or reference_id
        return cls(str(customer) if customer else None, str(invoice) if invoice else None)


@dataclass(frozen=True)
class PaymentClaim:
    """A payment as Xendit's API confirmed it: every field comes from the API's copy."""

    source: XenditProduct
    payment_id: str  # the payment's identity (docs/xendit.md, "Payment identity")
    object_id: str  # the Xendit object that was paid (invoice, payment request, cycle, FVA, charge)
    currency: str
    amount: Decimal
    paid_at: datetime
    method: str | None
    channel: str | None
    owner: OwnerHint


@dataclass(frozen=True)
class Owner:
    """Our customer and invoice for a payment, checked against Xendit's invoice of that id."""

    customer_id: str
    invoice_id: str
    invoice_amount: Decimal | None
    currency: str | None


def payload_data(callback: XenditCallback) -> dict[str, Any]:
    """The callback's ``data`` (envelopes) or the body itself (flat callbacks)."""
    data = callback.payload.get("data", callback.payload)
    return data if isinstance(data, dict) else {}


def claimed_amount(value: Any) -> Decimal | None:
    """An amount the callback claims (the ingest stored it as an exact decimal string)."""
    if value is None or isinstance(value, bool):
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


class Problems:
    """Collects where the callback and the API's copy disagree."""

    def __init__(self) -> None:
        self.items: list[str] = []

    def differs(self, field: str, at_xendit: object, claimed: object) -> None:
        """Note a difference; a field the callback does not carry (None) claims nothing."""
        if claimed is not None and at_xendit != claimed:
            self.items.append(f"{field} is {at_xendit} at Xendit but {claimed} in the callback")

    def require(self, condition: bool, problem: str) -> None:
        if not condition:
            self.items.append(problem)

    def raise_if_any(self, what: str) -> None:
        if self.items:
            raise ConfirmationMismatch(
                f"{what}: callback not confirmed by Xendit's API: {'; '.join(self.items)}"
            )


def not_found(what: str) -> ConfirmationMismatch:
    return ConfirmationMismatch(f"{what}: Xendit's API has no such object; nothing booked")
