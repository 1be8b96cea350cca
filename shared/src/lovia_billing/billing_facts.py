"""Billing facts: what each billing event says about a customer, stated so that adding it is safe.

A fact is immutable and carries its own identity (an invoice, payment, refund or subscription id)
and its own business time (``issued_at``, ``paid_at``...). Facts are kept as a set per customer,
so adding one is commutative (any order gives the same set) and idempotent (a duplicate, replay or
redrive adds nothing). ``lovia_billing.mautic_state.billing_state`` derives everything from the set.

A fact is stored as one canonical string: compact JSON with sorted keys, UTC timestamps and
normalised decimals, so the same fact is always the same string and a string set holds it once.
Pure: no I/O. mautic_sync keeps these sets (``mautic_sync.store``, one DynamoDB item per customer
under ``fact_key``); ``billing reconcile`` reads them to check Mautic; ``mautic_sync.facts``
re-exports this module.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    TypeAdapter,
    ValidationError,
)

from lovia_billing._canonical import canonical_json
from lovia_billing._events import (
    InvoiceExpired,
    InvoiceIssued,
    PaymentSucceeded,
    RefundSucceeded,
    SubscriptionCancelled,
)

BillingEvent = InvoiceIssued | PaymentSucceeded | RefundSucceeded | InvoiceExpired | SubscriptionCancelled

#: A money amount written one way only: "150000", never "150000.00" or "1.5E+5".
FactAmount = Annotated[
    Decimal,
    AfterValidator(lambda d: d.normalize()),
    PlainSerializer(lambda d: format(d, "f"), return_type=str, when_used="json"),
]
#: A moment, always in UTC (so equal moments are equal strings and compare without offsets).
FactTime = Annotated[AwareDatetime, AfterValidator(lambda t: t.astimezone(UTC))]


class _Fact(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Issued(_Fact):
    """The invoice exists and asks for ``amount``."""

    kind: Literal["issued"] = "issued"
    invoice_id: str
    amount: FactAmount
    currency: str
    issued_at: FactTime


class Paid(_Fact):
    """One payment (``payment_id``: Xendit's id of the money movement) of ``amount`` towards an invoice.

    ``invoice_amount`` is what the paid Xendit object asked for, when Xendit's copy says; it stands
    in for the amount due while ``issued`` is unknown."""

    kind: Literal["paid"] = "paid"
    invoice_id: str
    payment_id: str
    amount: FactAmount
    paid_at: FactTime
    invoice_amount: FactAmount | None = None


class Refunded(_Fact):
    """``amount`` of payment ``payment_id`` went back to the customer."""

    kind: Literal["refunded"] = "refunded"
    invoice_id: str
    refund_id: str
    payment_id: str
    amount: FactAmount
    refunded_at: FactTime


class Expired(_Fact):
    """The invoice expired (Xendit confirmed it; a payment may still come, after expiry)."""

    kind: Literal["expired"] = "expired"
    invoice_id: str
    expired_at: FactTime


class Cancelled(_Fact):
    """The customer cancelled a subscription."""

    kind: Literal["cancelled"] = "cancelled"
    subscription_id: str
    cancelled_at: FactTime


Fact = Annotated[Issued | Paid | Refunded | Expired | Cancelled, Field(discriminator="kind")]
_FACT: TypeAdapter[Fact] = TypeAdapter(Fact)


def fact_of(event: BillingEvent) -> Fact:
    """The one fact a billing event adds."""
    match event:
        case InvoiceIssued():
            return Issued(
                invoice_id=event.invoice_id,
                amount=event.amount,
                currency=event.currency,
                issued_at=event.issued_at,
            )
        case PaymentSucceeded():
            return Paid(
                invoice_id=event.invoice_id,
                payment_id=event.payment_id,
                amount=event.amount,
                paid_at=event.paid_at,
                invoice_amount=event.invoice_amount,
            )
        case RefundSucceeded():
            return Refunded(
                invoice_id=event.invoice_id,
                refund_id=event.refund_id,
                payment_id=event.payment_id,
                amount=event.amount,
                refunded_at=event.refunded_at,
            )
        case InvoiceExpired():
            return Expired(invoice_id=event.invoice_id, expired_at=event.expired_at)
        case SubscriptionCancelled():
            return Cancelled(subscription_id=event.subscription_id, cancelled_at=event.cancelled_at)


def encode(fact: Fact) -> str:
    """The fact's canonical string (absent optional values are left out, not written as null)."""
    return canonical_json(fact.model_dump(mode="json", exclude_none=True))


def decode(text: str) -> Fact:
    """The fact a string encodes; ``ValueError`` when it is not one this version knows."""
    try:
        return _FACT.validate_json(text)
    except ValidationError as exc:
        raise ValueError(f"not a billing fact: {text[:200]!r}") from exc


def read_facts(texts: Iterable[str]) -> tuple[list[Fact], list[str]]:
    """The facts among ``texts``, and the strings that are none (say, written by a newer version)."""
    facts: list[Fact] = []
    unreadable: list[str] = []
    for text in sorted(texts):
        try:
            facts.append(decode(text))
        except ValueError:
            unreadable.append(text)
    return facts, unreadable


#: The idempotency table's items that hold a customer's facts: ``pk = "mautic-facts#<customer id>"``.
KEY_PREFIX = "mautic-facts#"


def fact_key(customer_id: str) -> str:
    return f"{KEY_PREFIX}{customer_id}"
