"""What Mautic should know about a customer's billing, decided without I/O.

A contact's billing state is three flags (paid, payment failed, cancelled) and the set of our
invoices that are issued and neither paid nor expired. ``decide(state, event)`` gives the state
after the event and the tag, field and segment changes that take Mautic there. Applying the
same event again to the resulting state changes nothing, so redeliveries are harmless.

Rules (docs/mautic.md):

* ``invoice.issued``: the invoice is open → ``billing-open-invoice``.
* ``payment.succeeded``: the invoice is closed; ``billing-paid`` on, ``billing-payment-failed`` and
  ``billing-cancelled`` off (a payment after cancelling is a come-back); joins the active segment.
* ``invoice.expired``: the invoice is closed; ``billing-payment-failed`` on and ``billing-paid`` off,
  unless the customer has cancelled (expiring a cancelled customer's invoices is no failure).
* ``subscription.cancelled``: ``billing-cancelled`` on, ``billing-paid`` off; leaves the segment.
* ``billing-open-invoice`` is on exactly while some invoice is open.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any

from lovia_billing import (
    CustomerUpserted,
    InvoiceExpired,
    InvoiceIssued,
    PaymentSucceeded,
    SubscriptionCancelled,
)

BillingEvent = InvoiceIssued | PaymentSucceeded | InvoiceExpired | SubscriptionCancelled


class BillingTag(StrEnum):
    OPEN_INVOICE = "billing-open-invoice"
    PAID = "billing-paid"
    PAYMENT_FAILED = "billing-payment-failed"
    CANCELLED = "billing-cancelled"


class BillingStatus(StrEnum):
    """One word for segment filters, by precedence: left, owes (late), owes, pays."""

    CANCELLED = "cancelled"
    PAYMENT_FAILED = "payment_failed"
    OPEN_INVOICE = "open_invoice"
    PAID = "paid"
    NONE = "none"


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


@dataclass(frozen=True)
class BillingState:
    paid: bool = False
    payment_failed: bool = False
    cancelled: bool = False
    open_invoices: frozenset[str] = frozenset()

    @property
    def tags(self) -> frozenset[BillingTag]:
        flags = {
            BillingTag.OPEN_INVOICE: bool(self.open_invoices),
            BillingTag.PAID: self.paid,
            BillingTag.PAYMENT_FAILED: self.payment_failed,
            BillingTag.CANCELLED: self.cancelled,
        }
        return frozenset(tag for tag, on in flags.items() if on)

    @property
    def status(self) -> BillingStatus:
        if self.cancelled:
            return BillingStatus.CANCELLED
        if self.payment_failed:
            return BillingStatus.PAYMENT_FAILED
        if self.open_invoices:
            return BillingStatus.OPEN_INVOICE
        return BillingStatus.PAID if self.paid else BillingStatus.NONE

    @classmethod
    def from_contact(cls, tags: Iterable[str], open_invoices: str | None) -> BillingState:
        """Read back what ``decide`` wrote: the ``billing-*`` tags and the open-invoices field."""
        names = set(tags)
        return cls(
            paid=BillingTag.PAID in names,
            payment_failed=BillingTag.PAYMENT_FAILED in names,
            cancelled=BillingTag.CANCELLED in names,
            open_invoices=parse_invoice_ids(open_invoices),
        )


def parse_invoice_ids(value: str | None) -> frozenset[str]:
    return frozenset(part.strip() for part in (value or "").split(",") if part.strip())


def format_invoice_ids(ids: frozenset[str]) -> str:
    """Sorted and comma-joined (our identifiers never hold a comma), so equal sets read equal."""
    return ",".join(sorted(ids))


@dataclass(frozen=True)
class Decision:
    """What to change in Mautic for one event (nothing at all when every part is empty)."""

    after: BillingState
    tags_to_add: frozenset[BillingTag]
    tags_to_remove: frozenset[BillingTag]
    fields: dict[str, str]
    segment: SegmentMove | None

    @property
    def tag_operations(self) -> list[str]:
        """Mautic's ``tags`` payload: a name adds, ``-name`` removes."""
        return sorted(self.tags_to_add) + [f"-{tag}" for tag in sorted(self.tags_to_remove)]

    @property
    def changes_contact(self) -> bool:
        return bool(self.tags_to_add or self.tags_to_remove or self.fields)


def next_state(state: BillingState, event: BillingEvent) -> BillingState:
    match event:
        case InvoiceIssued():
            return replace(state, open_invoices=state.open_invoices | {event.invoice_id})
        case PaymentSucceeded():
            closed = state.open_invoices - {event.invoice_id}
            return BillingState(paid=True, payment_failed=False, cancelled=False, open_invoices=closed)
        case InvoiceExpired():
            closed = state.open_invoices - {event.invoice_id}
            if state.cancelled:
                return replace(state, open_invoices=closed)
            return replace(state, paid=False, payment_failed=True, open_invoices=closed)
        case SubscriptionCancelled():
            return replace(state, paid=False, cancelled=True)


def segment_move(event: BillingEvent) -> SegmentMove | None:
    """Unconditional, not a diff: Mautic's add/remove are idempotent, and a retry after a half-done
    delivery (tags written, segment call failed) must still make the move."""
    if isinstance(event, PaymentSucceeded):
        return SegmentMove.JOIN
    if isinstance(event, SubscriptionCancelled):
        return SegmentMove.LEAVE
    return None


def decide(
    state: BillingState, event: BillingEvent, aliases: FieldAliases, *, stored_status: str | None = None
) -> Decision:
    """The changes that take a contact in ``state`` (with ``stored_status`` in its status field) to
    the state after ``event``."""
    after = next_state(state, event)
    fields: dict[str, str] = {}
    if after.open_invoices != state.open_invoices:
        fields[aliases.open_invoices] = format_invoice_ids(after.open_invoices)
    if after.status != stored_status:
        fields[aliases.status] = after.status.value
    return Decision(
        after=after,
        tags_to_add=after.tags - state.tags,
        tags_to_remove=state.tags - after.tags,
        fields=fields,
        segment=segment_move(event),
    )


def split_name(name: str) -> tuple[str, str]:
    """``"Siti Nur Aisyah"`` → ``("Siti", "Nur Aisyah")``; a single word is a first name."""
    first, _, last = " ".join(name.split()).partition(" ")
    return first, last


def contact_fields(event: CustomerUpserted, aliases: FieldAliases) -> dict[str, Any]:
    """The contact fields a ``customer.upserted`` sets. They are ours: blanks are sent to clear them."""
    first, last = split_name(event.name)
    return {
        "email": event.email,
        "firstname": first,
        "lastname": last,
        "company": event.company or "",
        "phone": event.phone or "",
        aliases.customer_id: event.customer_id,
        aliases.plan: event.plan or "",
    }
