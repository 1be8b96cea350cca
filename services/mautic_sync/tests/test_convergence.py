"""Property tests: whatever order, duplicates, replays and redrives the events come in, the contact
ends in one state, and that state is the model's.

A *story* is a random but causally sensible life of one customer (an invoice is issued before it is
paid, a refund follows its payment, an invoice only expires while not fully paid). It is delivered
in a random permutation with random duplicates to a simulated contact that starts with stale tags,
through the same steps as the handler: add the fact, compute ``billing_state`` of all facts, apply
``plan``. The model is a plain event-by-event machine run over the story in business-time order.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from mautic_events import cancelled, expired, issued, paid, refunded

from lovia_billing import (
    InvoiceExpired,
    InvoiceIssued,
    PaymentSucceeded,
    RefundSucceeded,
    SubscriptionCancelled,
)
from mautic_sync.domain import BillingTag, FieldAliases, billing_state, plan
from mautic_sync.facts import BillingEvent, encode, fact_of, read_facts

ALIASES = FieldAliases()
DUES = [Decimal(100), Decimal(150000), Decimal(99999)]
SETTINGS = settings(max_examples=300, deadline=None)


# --- stories --------------------------------------------------------------------------------------


@st.composite
def stories(draw: st.DrawFn, *, distinct_times: bool = True) -> list[BillingEvent]:
    """One customer's events. Times are whole hours plus a per-event second when ``distinct_times``
    (so no two coincide and the model needs no tie rule), else whole hours only."""
    tick = itertools.count(1)

    def hour(h: int) -> float:
        return h + next(tick) / 3600 if distinct_times else h

    events: list[BillingEvent] = []
    for n in range(draw(st.integers(1, 3))):
        invoice, due = f"inv_{n}", draw(st.sampled_from(DUES))
        opened = draw(st.integers(0, 200))
        expires = draw(st.none() | st.integers(opened + 1, opened + 100))
        reported = draw(st.booleans())  # does Xendit's copy say what was due?
        if draw(st.integers(0, 4)):  # usually issued; sometimes its event is lost or late for good
            events.append(issued(invoice, str(due), hour=hour(opened)))
        received_before_expiry = Decimal(0)
        payments = draw(st.integers(0, 3))
        for k in range(payments):
            amount = draw(st.sampled_from([due, max(due // 2, Decimal(1)), Decimal(1)]))
            at = draw(st.integers(opened + 1, opened + 300))
            if expires is not None and at <= expires:
                if received_before_expiry + amount >= due:
                    at = expires + 1 + draw(st.integers(0, 100))  # paid in full only after expiry
                else:
                    received_before_expiry += amount
            payment_id = f"pay_{n}_{k}"
            events.append(
                paid(
                    invoice,
                    str(amount),
                    hour=hour(at),
                    payment_id=payment_id,
                    invoice_amount=str(due) if reported else None,
                )
            )
            if draw(st.integers(0, 2)) == 0:
                back = draw(st.sampled_from([amount, max(amount // 2, Decimal(1))]))
                events.append(
                    refunded(
                        invoice,
                        str(back),
                        hour=hour(at + draw(st.integers(1, 300))),
                        refund_id=f"rfd_{n}_{k}",
                        payment_id=payment_id,
                    )
                )
        if expires is not None:
            events.append(expired(invoice, hour=hour(expires)))
    for k in range(draw(st.integers(0, 2))):
        events.append(cancelled(f"sub_{k}", hour=hour(draw(st.integers(0, 600)))))
    return events or [issued("inv_0", hour=hour(0))]


# --- the model ------------------------------------------------------------------------------------


def business_time(event: BillingEvent) -> datetime:
    match event:
        case InvoiceIssued():
            return event.issued_at
        case PaymentSucceeded():
            return event.paid_at
        case RefundSucceeded():
            return event.refunded_at
        case InvoiceExpired():
            return event.expired_at
        case SubscriptionCancelled():
            return event.cancelled_at


@dataclass
class ModelInvoice:
    due: Decimal | None = None
    issued: bool = False
    expired: bool = False
    paid: list[Decimal] = field(default_factory=list)
    refunded: list[Decimal] = field(default_factory=list)
    paid_in_full: bool = False

    def net(self) -> Decimal:
        return sum(self.paid, Decimal(0)) - sum(self.refunded, Decimal(0))

    def refunded_in_full(self) -> bool:
        return bool(self.refunded) and self.net() <= 0

    def owed(self) -> bool:
        return not self.paid_in_full and not self.refunded_in_full()


def model(events: list[BillingEvent]) -> dict[str, Any]:
    """What Mautic should show: the story's events, each once, applied in business-time order."""
    unique = list({e.event_id: e for e in events}.values())
    invoices: defaultdict[str, ModelInvoice] = defaultdict(ModelInvoice)
    for e in unique:  # what each invoice asks for is known from all its events
        if isinstance(e, InvoiceIssued):
            invoices[e.invoice_id].due = e.amount
    for e in unique:
        if isinstance(e, PaymentSucceeded) and invoices[e.invoice_id].due is None:
            invoices[e.invoice_id].due = e.invoice_amount
    standing, is_cancelled, ever_paid = None, False, False
    for e in sorted(unique, key=business_time):
        match e:
            case InvoiceIssued():
                invoices[e.invoice_id].issued = True
            case PaymentSucceeded():
                inv = invoices[e.invoice_id]
                inv.paid.append(e.amount)
                reached = inv.net() > 0 if inv.due is None else inv.net() >= inv.due
                if inv.paid_in_full or reached:
                    inv.paid_in_full, standing = True, "paid"
                is_cancelled, ever_paid = False, True
            case RefundSucceeded():
                inv = invoices[e.invoice_id]
                inv.refunded.append(e.amount)
                if inv.refunded_in_full():
                    inv.paid_in_full, standing = False, "refunded"
            case InvoiceExpired():
                inv = invoices[e.invoice_id]
                inv.expired = True
                if inv.owed() and not is_cancelled:
                    standing = "payment-failed"
            case SubscriptionCancelled():
                is_cancelled = True
                if standing == "paid":
                    standing = None
    open_ids = sorted(i for i, inv in invoices.items() if inv.issued and not inv.expired and inv.owed())
    partial = [i for i, inv in invoices.items() if inv.owed() and inv.net() > 0 and not inv.expired]
    tags = {f"billing-{standing}"} if standing else set()
    tags |= {"billing-open-invoice"} if open_ids else set()
    tags |= {"billing-partially-paid"} if partial else set()
    tags |= {"billing-cancelled"} if is_cancelled else set()
    if is_cancelled:
        status = "cancelled"
    elif standing == "payment-failed":
        status = "payment_failed"
    elif partial:
        status = "partially_paid"
    elif open_ids:
        status = "open_invoice"
    else:
        status = standing or "none"
    return {
        "tags": sorted(tags),
        "status": status,
        "open": ",".join(open_ids),
        "active": ever_paid and not is_cancelled,
    }


# --- a contact, as Mautic keeps it ----------------------------------------------------------------


@dataclass
class Contact:
    tags: set[str]
    values: dict[str, Any]
    active: bool = False
    edits: int = 0

    def deliver(self, facts: set[str], event: BillingEvent) -> None:
        """What the handler does with one delivery, with Mautic's tag semantics for the edit."""
        facts.add(encode(fact_of(event)))
        known, unreadable = read_facts(facts)
        assert not unreadable
        state = billing_state(known)
        changes = plan(state, self.tags, self.values, ALIASES)
        if changes.changes_contact:
            self.edits += 1
            for operation in changes.tag_operations:
                if operation.startswith("-"):
                    self.tags.discard(operation[1:])
                else:
                    self.tags.add(operation)
            self.values.update(changes.fields)
        self.active = state.active

    def view(self) -> dict[str, Any]:
        return {
            "tags": sorted(t for t in self.tags if t.startswith("billing-")),
            "status": self.values.get(ALIASES.status),
            "open": self.values.get(ALIASES.open_invoices) or "",
            "active": self.active,
        }


stale_contacts = st.builds(
    Contact,
    tags=st.sets(st.sampled_from([*BillingTag, "newsletter"])),
    values=st.fixed_dictionaries(
        {
            ALIASES.status: st.sampled_from([None, "paid", "open_invoice", "cancelled"]),
            ALIASES.open_invoices: st.sampled_from([None, "", "inv_0", "inv_0,inv_9"]),
        }
    ),
)


def arrivals(data: st.DataObject, story: list[BillingEvent]) -> list[BillingEvent]:
    """The story with duplicates (redeliveries, replays, redrives) in any order."""
    repeats = data.draw(st.lists(st.sampled_from(story), max_size=5))
    return data.draw(st.permutations(story + repeats))


# --- properties -----------------------------------------------------------------------------------


@SETTINGS
@given(story=stories(), contact=stale_contacts, data=st.data())
def test_any_arrival_order_ends_in_the_models_state(
    story: list[BillingEvent], contact: Contact, data: st.DataObject
) -> None:
    not_ours = {tag for tag in contact.tags if tag not in set(BillingTag)}
    facts: set[str] = set()
    for event in arrivals(data, story):
        contact.deliver(facts, event)
    assert contact.view() == model(story)
    assert not_ours <= contact.tags  # tags that are not ours are left alone
    # Delivering anything again changes nothing more.
    edits = contact.edits
    for event in story:
        contact.deliver(facts, event)
    assert contact.edits == edits


@SETTINGS
@given(story=stories(distinct_times=False), data=st.data())
def test_events_at_the_same_moment_still_converge(story: list[BillingEvent], data: st.DataObject) -> None:
    first, second = Contact(set(), {}), Contact({"billing-paid", "billing-open-invoice"}, {})
    for contact in (first, second):
        facts: set[str] = set()
        for event in arrivals(data, story):
            contact.deliver(facts, event)
    assert first.view() == second.view()


@SETTINGS
@given(story=stories())
def test_model_invariants(story: list[BillingEvent]) -> None:
    """Checks of the state that need no replay: what each tag implies about the facts."""
    state = billing_state(fact_of(e) for e in story)
    tags = state.tags
    payments = {e.payment_id: e for e in story if isinstance(e, PaymentSucceeded)}
    refunds = {e.refund_id: e for e in story if isinstance(e, RefundSucceeded)}
    cancels = [e.cancelled_at for e in story if isinstance(e, SubscriptionCancelled)]
    last_payment = max((p.paid_at for p in payments.values()), default=None)
    assert len(tags & {BillingTag.PAID, BillingTag.PAYMENT_FAILED, BillingTag.REFUNDED}) <= 1
    assert state.cancelled == bool(cancels and (last_payment is None or max(cancels) >= last_payment))
    assert state.active == bool(payments and not state.cancelled)
    if BillingTag.PAID in tags:
        assert not state.cancelled
        assert any(sum_paid(payments, i) >= (due_of(story, i) or 0) for i in invoice_ids(story))
    if BillingTag.REFUNDED in tags:
        assert refunds
    issued_ids = {e.invoice_id for e in story if isinstance(e, InvoiceIssued)}
    expired_ids = {e.invoice_id for e in story if isinstance(e, InvoiceExpired)}
    assert state.open_invoices <= issued_ids - expired_ids
    for invoice_id in state.partially_paid_invoices:
        due = due_of(story, invoice_id)
        assert due is not None
        assert 0 < sum_paid(payments, invoice_id) - sum_refunded(refunds, invoice_id) < due


def invoice_ids(story: list[BillingEvent]) -> set[str]:
    return {e.invoice_id for e in story if not isinstance(e, SubscriptionCancelled)}


def due_of(story: list[BillingEvent], invoice_id: str) -> Decimal | None:
    for e in story:
        if isinstance(e, InvoiceIssued) and e.invoice_id == invoice_id:
            return e.amount
    reported = [
        e.invoice_amount for e in story if isinstance(e, PaymentSucceeded) and e.invoice_id == invoice_id
    ]
    return next((a for a in reported if a is not None), None)


def sum_paid(payments: dict[str, PaymentSucceeded], invoice_id: str) -> Decimal:
    return sum((p.amount for p in payments.values() if p.invoice_id == invoice_id), Decimal(0))


def sum_refunded(refunds: dict[str, RefundSucceeded], invoice_id: str) -> Decimal:
    return sum((r.amount for r in refunds.values() if r.invoice_id == invoice_id), Decimal(0))
