"""The domain events of DESIGN.md's flow table, as one discriminated union on ``type``.

Every event carries ``event_id`` (derived from its natural key, see ``NATURAL_KEY``), ``type`` and
``customer_id`` (the SQS message group). Build events with ``Event.create(...)`` so the id is
derived, never invented; parse a message body with ``parse_event``.

Pure domain: no I/O imports here.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any, ClassVar, Literal, Self

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    field_validator,
    model_validator,
)

from lovia_billing._canonical import canonical_json, derive_event_id
from lovia_billing._money import Amount, Currency, ProviderAmount, check_precision


class EventType(StrEnum):
    CUSTOMER_UPSERTED = "customer.upserted"
    INVOICE_REQUESTED = "invoice.requested"
    INVOICE_ISSUED = "invoice.issued"
    INVOICE_EXPIRED = "invoice.expired"
    PAYMENT_SUCCEEDED = "payment.succeeded"
    SUBSCRIPTION_CANCELLED = "subscription.cancelled"
    REFUND_SUCCEEDED = "refund.succeeded"
    # Verified Xendit callbacks, confirmed by xendit_sync before they become domain events.
    XENDIT_INVOICE_PAID = "xendit.invoice.paid"
    XENDIT_INVOICE_EXPIRED = "xendit.invoice.expired"
    XENDIT_CALLBACK = "xendit.callback"


class XenditProduct(StrEnum):
    """The Xendit products whose callbacks we take; each is confirmed through its own API."""

    INVOICE = "invoice"
    PAYMENT_REQUEST = "payment_request"
    RECURRING = "recurring"
    FVA = "fva"
    EWALLET = "ewallet"
    REFUND = "refund"


_ID = r"^[A-Za-z0-9][A-Za-z0-9._:@\-]{0,127}$"
#: Our own identifiers (customer, invoice, subscription): printable, no spaces, at most 128 chars.
Identifier = Annotated[str, Field(pattern=_ID, examples=["cus_0001"])]
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def _check_email(value: str) -> str:
    if not _EMAIL.match(value) or len(value) > 254:
        raise ValueError(f"{value!r} is not a valid e-mail address")
    return value.lower()


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)


class DomainEvent(_Model):
    """Fields every event has. Subclasses add ``type`` and their data."""

    #: Field names whose values identify the logical event; ``create`` derives ``event_id`` from them.
    NATURAL_KEY: ClassVar[tuple[str, ...]] = ()

    event_id: str
    customer_id: Identifier

    @classmethod
    def create(cls, **fields: Any) -> Self:
        """Build the event with ``event_id`` derived from ``NATURAL_KEY``."""
        draft = cls.model_validate({**fields, "event_id": "pending"})
        key = tuple(str(getattr(draft, name)) for name in cls.NATURAL_KEY)
        event_type: str = getattr(draft, "type")  # noqa: B009 - every concrete event has `type`
        return draft.model_copy(update={"event_id": derive_event_id(event_type, *key)})

    @property
    def event_type(self) -> EventType:
        return EventType(getattr(self, "type"))  # noqa: B009

    def body(self) -> str:
        """The canonical JSON message body."""
        return canonical_json(self.model_dump(mode="json"))


class InvoiceLine(_Model):
    item_code: Identifier = Field(description="our product or plan code (ERPNext Item, ChartMogul plan)")
    description: str = Field(min_length=1, max_length=500)
    quantity: int = Field(ge=1, le=100_000)
    unit_amount: Amount

    @property
    def amount(self) -> Decimal:
        return self.unit_amount * self.quantity


class ServicePeriod(_Model):
    start: date
    end: date

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.end < self.start:
            raise ValueError("service period ends before it starts")
        return self


class CustomerUpserted(DomainEvent):
    """A Lovia customer was created or changed (``PUT /v1/customers/{id}``)."""

    NATURAL_KEY = ("customer_id", "request_key")
    type: Literal["customer.upserted"] = "customer.upserted"
    request_key: str = Field(description="the caller's Idempotency-Key, or a fresh id when none was sent")
    email: str
    name: str = Field(min_length=1, max_length=140)
    company: str | None = Field(default=None, max_length=140)
    phone: str | None = Field(default=None, max_length=40)
    country: str | None = Field(default=None, min_length=2, max_length=2)
    plan: str | None = Field(default=None, max_length=140)

    _email = field_validator("email")(_check_email)


class _InvoiceFields(_Model):
    invoice_id: Identifier
    currency: Currency
    amount: Amount = Field(description="total; must equal the sum of the lines")
    lines: tuple[InvoiceLine, ...] = Field(min_length=1, max_length=75)
    description: str = Field(min_length=1, max_length=1000)
    payer_email: str
    subscription_id: Identifier | None = None
    plan_id: Identifier | None = None
    period: ServicePeriod | None = None
    due_date: date | None = None

    _email = field_validator("payer_email")(_check_email)

    @model_validator(mode="after")
    def _amounts_agree(self) -> Self:
        check_precision(self.amount, self.currency)
        for line in self.lines:
            check_precision(line.unit_amount, self.currency, "unit_amount")
        total = sum((line.amount for line in self.lines), Decimal(0))
        if total != self.amount:
            raise ValueError(f"amount {self.amount} is not the sum of the lines ({total})")
        if self.amount <= 0:
            raise ValueError("amount must be greater than zero")
        return self


class InvoiceRequested(DomainEvent, _InvoiceFields):
    """Lovia asks for an invoice (``POST /v1/invoices``); xendit_sync creates it in Xendit."""

    NATURAL_KEY = ("invoice_id",)
    type: Literal["invoice.requested"] = "invoice.requested"


class InvoiceIssued(DomainEvent, _InvoiceFields):
    """Xendit holds the invoice; published by xendit_sync for the books, analytics and marketing."""

    NATURAL_KEY = ("invoice_id",)
    type: Literal["invoice.issued"] = "invoice.issued"
    xendit_invoice_id: str
    invoice_url: str
    issued_at: datetime
    expires_at: datetime


class PaymentSucceeded(DomainEvent):
    """Xendit confirmed a payment of one of our invoices, built only from Xendit's API copy.

    ``payment_id`` is the payment's one identity (docs/xendit.md, "Payment identity"): Xendit's id
    of the money movement, the same whichever product's callback or route reported it, so every
    report of one payment is this one event and one booking downstream.
    """

    NATURAL_KEY = ("payment_id",)
    type: Literal["payment.succeeded"] = "payment.succeeded"
    invoice_id: Identifier
    xendit_invoice_id: str = Field(description="the Xendit object that was paid (invoice, request, cycle…)")
    payment_id: str = Field(description="Xendit's payment id: the payment's identity, our key downstream")
    source: XenditProduct = Field(default=XenditProduct.INVOICE, description="whose API confirmed it")
    invoice_amount: Amount | None = Field(
        default=None, description="what the paid Xendit object asked for, when Xendit's copy says"
    )
    currency: Currency
    amount: Amount = Field(description="amount paid")
    fees: Amount = Decimal(0)
    method: str | None = None
    channel: str | None = None
    paid_at: datetime
    after_expiry: bool = Field(default=False, description="paid after the invoice had expired")


class InvoiceExpired(DomainEvent):
    """Xendit confirmed that an invoice expired unpaid."""

    NATURAL_KEY = ("xendit_invoice_id",)
    type: Literal["invoice.expired"] = "invoice.expired"
    invoice_id: Identifier
    xendit_invoice_id: str
    currency: Currency
    amount: Amount
    expired_at: datetime


class RefundSucceeded(DomainEvent):
    """Xendit confirmed a refund (its Refunds API says SUCCEEDED) of a payment of one of our invoices."""

    NATURAL_KEY = ("refund_id",)
    type: Literal["refund.succeeded"] = "refund.succeeded"
    invoice_id: Identifier
    xendit_invoice_id: str = Field(description="the Xendit object whose payment was refunded")
    payment_id: str = Field(description="identity of the refunded payment (see PaymentSucceeded)")
    refund_id: str = Field(description="Xendit's refund id, our natural key downstream")
    currency: Currency
    amount: Amount = Field(description="amount refunded (partial refunds are less than the payment)")
    refunded_at: datetime
    reason: str | None = Field(default=None, max_length=500)


class SubscriptionCancelled(DomainEvent):
    """A subscription ends (``POST /v1/subscriptions/{id}/cancel``)."""

    NATURAL_KEY = ("subscription_id",)
    type: Literal["subscription.cancelled"] = "subscription.cancelled"
    subscription_id: Identifier
    cancelled_at: AwareDatetime
    reason: str | None = Field(default=None, max_length=500)


class XenditInvoiceCallback(DomainEvent):
    """A verified Xendit invoice callback, not yet confirmed with Xendit's API.

    ``fields`` keeps the callback's own (validated) fields; money stays ``Decimal``.
    """

    NATURAL_KEY = ("xendit_invoice_id", "status")
    xendit_invoice_id: str
    external_id: str
    status: Literal["PAID", "SETTLED", "EXPIRED"]
    currency: str
    amount: ProviderAmount
    paid_amount: ProviderAmount | None = None
    payment_method: str | None = None
    payment_channel: str | None = None
    payment_id: str | None = None
    paid_at: datetime | None = None


class XenditInvoicePaid(XenditInvoiceCallback):
    type: Literal["xendit.invoice.paid"] = "xendit.invoice.paid"


class XenditInvoiceExpired(XenditInvoiceCallback):
    type: Literal["xendit.invoice.expired"] = "xendit.invoice.expired"


class XenditCallback(DomainEvent):
    """A verified callback of a Xendit product other than the invoice, not yet confirmed.

    ``object_id`` is what xendit_sync fetches from the product's API to confirm it; ``key`` is the
    callback's natural key (the same for every copy Xendit sends); ``payload`` its validated body,
    kept for the record only: nothing is booked from it.
    """

    NATURAL_KEY = ("product", "key")
    type: Literal["xendit.callback"] = "xendit.callback"
    product: XenditProduct
    event: str = Field(description="Xendit's event name (envelopes) or ours for flat bodies (fva.paid)")
    object_id: str = Field(min_length=1, max_length=255)
    key: str
    payload: dict[str, Any]


Event = Annotated[
    CustomerUpserted
    | InvoiceRequested
    | InvoiceIssued
    | PaymentSucceeded
    | InvoiceExpired
    | SubscriptionCancelled
    | RefundSucceeded
    | XenditInvoicePaid
    | XenditInvoiceExpired
    | XenditCallback,
    Field(discriminator="type"),
]

_EVENT_ADAPTER: TypeAdapter[Event] = TypeAdapter(Event)


def parse_event(body: str | bytes) -> Event:
    """Parse a message body (canonical JSON) into its event; raises ``pydantic.ValidationError``."""
    return _EVENT_ADAPTER.validate_json(body)


def event_from_data(data: dict[str, Any]) -> Event:
    return _EVENT_ADAPTER.validate_python(data)
