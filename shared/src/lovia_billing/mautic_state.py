"""What Mautic should show about a customer's billing, derived from all their facts, without I/O.

Used by mautic_sync (which writes it) and by ``billing reconcile`` (which checks the contacts
against it); ``mautic_sync.domain`` re-exports it.

The state is never built by applying an event to what was read back from the contact: that made
the result depend on arrival order (a redriven ``invoice.issued`` after its payment left a paid
customer tagged ``billing-open-invoice`` too). Instead ``billing_state(facts)`` takes the whole set
of the customer's facts (``lovia_billing.billing_facts``) and **replays them in business-time order**
(``issued_at``, ``paid_at``, ``refunded_at``, ``cancelled_at``, ``expired_at``), never arrival
order; ``plan`` then compares the result with the contact. Any order, duplicate, replay or redrive
of the events gives the same set of facts and therefore the same contact.

Rules (docs/mautic.md, "Billing state"):

* Each fact counts once: ``issued`` per invoice, payments per ``payment_id``, refunds per
  ``refund_id``, cancellations per subscription.
* An invoice's amount due is its ``issued`` amount, or, before that arrives, the largest
  ``invoice_amount`` its payments report; otherwise unknown.
* Replay, per invoice: a payment adds to what it has received (payments minus refunds); once that
  reaches the amount due (any payment, when unknown) the invoice is **paid** and stays paid through
  partial refunds (a refund reduces what the customer owes, so it is neither dunned nor called
  partially paid). A refund that brings it to zero or below makes it **refunded** (not paid).
  Otherwise it is **partially paid** while it has received something, else **unpaid**.
* Replay, per customer (the *standing*, at most one of ``billing-paid``,
  ``billing-payment-failed``, ``billing-refunded``): a payment that leaves its invoice paid → paid;
  a refund that leaves its invoice refunded → refunded; an invoice expiring unpaid or partially
  paid → payment failed, unless the customer is cancelled at that moment (expiring a cancelled
  customer's invoices is no failure); a cancellation → cancelled and no longer paid (payment
  failed and refunded stay); any payment → not cancelled (a come-back).
* At equal times: issued, then payments, refunds, cancellations, expiries (so a cancellation at
  the instant of a payment leaves, and an expiry at the instant of a cancellation is no failure);
  then by the fact's string, so the order never depends on arrival.
* ``billing-open-invoice``: some invoice is issued, not expired, and unpaid or partially paid; the
  open-invoices field lists them. ``billing-partially-paid``: some invoice is partially paid and
  not expired. ``billing-cancelled``: cancelled at the end of the replay.
* Active segment: at least one payment and not cancelled.
* ``billing_status``, one word by precedence: cancelled > payment_failed > partially_paid >
  open_invoice > refunded > paid > none.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any, TypeVar

from lovia_billing.billing_facts import Cancelled, Expired, Fact, Issued, Paid, Refunded, encode


class BillingTag(StrEnum):
    """The tags mautic_sync owns: it adds the ones the facts call for and removes the others."""

    OPEN_INVOICE = "billing-open-invoice"
    PARTIALLY_PAID = "billing-partially-paid"
    PAID = "billing-paid"
    PAYMENT_FAILED = "billing-payment-failed"
    REFUNDED = "billing-refunded"
    CANCELLED = "billing-cancelled"


OUR_TAGS: frozenset[str] = frozenset(BillingTag)


class BillingStatus(StrEnum):
    """One word for segment filters, by precedence (first wins)."""

    CANCELLED = "cancelled"
    PAYMENT_FAILED = "payment_failed"
    PARTIALLY_PAID = "partially_paid"
    OPEN_INVOICE = "open_invoice"
    REFUNDED = "refunded"
    PAID = "paid"
    NONE = "none"


class Standing(StrEnum):
    """How the customer's latest settled invoice ended."""

    NONE = "none"
    PAID = "paid"
    PAYMENT_FAILED = "payment_failed"
    REFUNDED = "refunded"


class Outcome(StrEnum):
    UNPAID = "unpaid"
    PARTIALLY_PAID = "partially_paid"
    PAID = "paid"
    REFUNDED = "refunded"


class SegmentMove(StrEnum):
    JOIN = "join"
    LEAVE = "leave"


@dataclass(frozen=True)
class FieldAliases:
    """The aliases of the custom contact fields an operator created in Mautic."""

    customer_id: str = "billing_customer_id"
    plan: str = "billing_plan"
    status: str = "billing_status"
    open_invoices: str = "billing_open_invoices"


@dataclass
class _Invoice:
    """One invoice while the customer's facts are replayed."""

    due: Decimal | None
    issued: bool = False
    expired: bool = False
    received: Decimal = Decimal(0)  # payments minus refunds so far
    refunds: bool = False
    settled: bool = False  # received the amount due (and not refunded to zero since)

    @property
    def fully_refunded(self) -> bool:
        return self.refunds and self.received <= 0

    @property
    def outcome(self) -> Outcome:
        if self.fully_refunded:
            return Outcome.REFUNDED
        if self.settled:
            return Outcome.PAID
        return Outcome.PARTIALLY_PAID if self.received > 0 else Outcome.UNPAID

    @property
    def is_open(self) -> bool:
        owed = self.outcome in (Outcome.UNPAID, Outcome.PARTIALLY_PAID)
        return self.issued and not self.expired and owed

    @property
    def is_partially_paid(self) -> bool:
        return self.outcome is Outcome.PARTIALLY_PAID and not self.expired


@dataclass(frozen=True)
class BillingState:
    """What Mautic should show: computed by ``billing_state``, written by the handlers."""

    standing: Standing = Standing.NONE
    cancelled: bool = False
    active: bool = False
    open_invoices: frozenset[str] = frozenset()
    partially_paid_invoices: frozenset[str] = frozenset()

    @property
    def tags(self) -> frozenset[BillingTag]:
        flags = {
            BillingTag.OPEN_INVOICE: bool(self.open_invoices),
            BillingTag.PARTIALLY_PAID: bool(self.partially_paid_invoices),
            BillingTag.PAID: self.standing is Standing.PAID,
            BillingTag.PAYMENT_FAILED: self.standing is Standing.PAYMENT_FAILED,
            BillingTag.REFUNDED: self.standing is Standing.REFUNDED,
            BillingTag.CANCELLED: self.cancelled,
        }
        return frozenset(tag for tag, on in flags.items() if on)

    @property
    def status(self) -> BillingStatus:
        if self.cancelled:
            return BillingStatus.CANCELLED
        if self.standing is Standing.PAYMENT_FAILED:
            return BillingStatus.PAYMENT_FAILED
        if self.partially_paid_invoices:
            return BillingStatus.PARTIALLY_PAID
        if self.open_invoices:
            return BillingStatus.OPEN_INVOICE
        return BillingStatus(self.standing.value)

    @property
    def segment(self) -> SegmentMove:
        return SegmentMove.JOIN if self.active else SegmentMove.LEAVE


K = TypeVar("K", bound=Hashable)
F = TypeVar("F", Issued, Paid, Refunded, Expired, Cancelled)


def _once(facts: Iterable[F], identity: Callable[[F], K]) -> list[F]:
    """One fact per identity. Two different facts with one identity (a corrected copy of an event)
    would be a producer's bug; taking the smallest string keeps the choice independent of order."""
    chosen: dict[K, F] = {}
    for fact in facts:
        key = identity(fact)
        if key not in chosen or encode(fact) < encode(chosen[key]):
            chosen[key] = fact
    return list(chosen.values())


def distinct_facts(facts: Iterable[Fact]) -> list[Fact]:
    """Each fact once by its identity, in replay order: business time, then kind, then string."""
    facts = list(facts)
    kept: list[Fact] = [
        *_once((f for f in facts if isinstance(f, Issued)), lambda f: f.invoice_id),
        *_once((f for f in facts if isinstance(f, Paid)), lambda f: f.payment_id),
        *_once((f for f in facts if isinstance(f, Refunded)), lambda f: f.refund_id),
        *_once((f for f in facts if isinstance(f, Cancelled)), lambda f: f.subscription_id),
        *{encode(f): f for f in facts if isinstance(f, Expired)}.values(),
    ]
    return sorted(kept, key=_replay_key)


def _replay_key(fact: Fact) -> tuple[datetime, int, str]:
    match fact:
        case Issued():
            return fact.issued_at, 0, encode(fact)
        case Paid():
            return fact.paid_at, 1, encode(fact)
        case Refunded():
            return fact.refunded_at, 2, encode(fact)
        case Cancelled():
            return fact.cancelled_at, 3, encode(fact)
        case Expired():
            return fact.expired_at, 4, encode(fact)


def amounts_due(facts: Iterable[Fact]) -> dict[str, Decimal | None]:
    """Per invoice: the ``issued`` amount, else the largest ``invoice_amount`` a payment reports."""
    issued: dict[str, Decimal] = {}
    reported: dict[str, list[Decimal]] = {}
    for fact in facts:
        match fact:
            case Issued():
                issued[fact.invoice_id] = fact.amount
            case Paid():
                known = [] if fact.invoice_amount is None else [fact.invoice_amount]
                reported.setdefault(fact.invoice_id, []).extend(known)
            case Refunded() | Expired():
                reported.setdefault(fact.invoice_id, [])
    return {i: issued[i] if i in issued else max(reported[i], default=None) for i in issued | reported}


def billing_state(facts: Iterable[Fact]) -> BillingState:
    """The customer's billing state: every fact replayed in business-time order (module docstring)."""
    replay = distinct_facts(facts)
    invoices = {invoice_id: _Invoice(due) for invoice_id, due in amounts_due(replay).items()}
    standing, cancelled, has_paid = Standing.NONE, False, False
    for fact in replay:
        match fact:
            case Issued():
                invoices[fact.invoice_id].issued = True
            case Paid():
                invoice = invoices[fact.invoice_id]
                invoice.received += fact.amount
                due = invoice.due
                reached = invoice.received > 0 if due is None else invoice.received >= due
                if invoice.settled or reached:
                    invoice.settled, standing = True, Standing.PAID
                cancelled, has_paid = False, True
            case Refunded():
                invoice = invoices[fact.invoice_id]
                invoice.received -= fact.amount
                invoice.refunds = True
                if invoice.fully_refunded:
                    invoice.settled, standing = False, Standing.REFUNDED
            case Cancelled():
                cancelled = True
                standing = Standing.NONE if standing is Standing.PAID else standing
            case Expired():
                invoice = invoices[fact.invoice_id]
                invoice.expired = True
                unpaid = invoice.outcome in (Outcome.UNPAID, Outcome.PARTIALLY_PAID)
                standing = Standing.PAYMENT_FAILED if unpaid and not cancelled else standing
    return BillingState(
        standing=standing,
        cancelled=cancelled,
        active=has_paid and not cancelled,
        open_invoices=frozenset(i for i, invoice in invoices.items() if invoice.is_open),
        partially_paid_invoices=frozenset(i for i, invoice in invoices.items() if invoice.is_partially_paid),
    )


def parse_invoice_ids(value: str | None) -> frozenset[str]:
    return frozenset(part.strip() for part in (value or "").split(",") if part.strip())


def format_invoice_ids(ids: Iterable[str]) -> str:
    """Sorted and comma-joined (our identifiers never hold a comma), so equal sets read equal."""
    return ",".join(sorted(ids))


@dataclass(frozen=True)
class ContactChanges:
    """The edit that takes a contact to a ``BillingState`` (nothing at all when every part is empty)."""

    tags_to_add: frozenset[str]
    tags_to_remove: frozenset[str]
    fields: dict[str, str]

    @property
    def tag_operations(self) -> list[str]:
        """Mautic's ``tags`` payload: a name adds, ``-name`` removes."""
        return sorted(self.tags_to_add) + [f"-{tag}" for tag in sorted(self.tags_to_remove)]

    @property
    def changes_contact(self) -> bool:
        return bool(self.tags_to_add or self.tags_to_remove or self.fields)


def plan(
    state: BillingState, tags: Iterable[str], values: Mapping[str, Any], aliases: FieldAliases
) -> ContactChanges:
    """The full desired ``billing-*`` tags and fields against what the contact has: missing tags are
    added, our tags the state does not call for are removed (other tags are not ours), and a field is
    written only when it differs."""
    ours = {tag for tag in tags if tag in OUR_TAGS}
    fields: dict[str, str] = {}
    if values.get(aliases.status) != state.status.value:
        fields[aliases.status] = state.status.value
    if parse_invoice_ids(values.get(aliases.open_invoices)) != state.open_invoices:
        fields[aliases.open_invoices] = format_invoice_ids(state.open_invoices)
    return ContactChanges(
        tags_to_add=frozenset(state.tags - ours),
        tags_to_remove=frozenset(ours - state.tags),
        fields=fields,
    )
