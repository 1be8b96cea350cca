"""What the reconciliation compares and what it finds, as plain values: no I/O here.

One side is what Xendit shows in the window (``XenditFacts``: each payment, refund and expiry as the
very event xendit_sync would have published for it, and the callback event that would have reported
it); the other is what the books hold (``Books``: ERPNext documents, ChartMogul invoices with their
transactions, Mautic contacts and billing facts). ``compare`` turns the two into ``Difference``s;
``classify`` reads the ledger to decide what may be repaired through the normal path.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum

from lovia_billing import DomainEvent, Integration, InvoiceExpired, PaymentSucceeded, RefundSucceeded

#: The downstream systems a run compares with Xendit (``--integration``).
BOOKS: tuple[Integration, ...] = (Integration.ERPNEXT, Integration.CHARTMOGUL, Integration.MAUTIC)


class Kind(StrEnum):
    """What is wrong with one record downstream."""

    MISSING_IN_ERPNEXT = "missing_in_erpnext"
    MISSING_IN_CHARTMOGUL = "missing_in_chartmogul"
    MISSING_IN_MAUTIC = "missing_in_mautic"
    EXTRA_IN_ERPNEXT = "extra_in_erpnext"
    EXTRA_IN_CHARTMOGUL = "extra_in_chartmogul"
    AMOUNT_DIFFERS = "amount_differs"
    STATUS_DIFFERS = "status_differs"
    CANCELLED_IN_ERPNEXT = "cancelled_in_erpnext"


class Action(StrEnum):
    """What happens to a difference."""

    REPAIR = "repair"  # the event that should have happened is (re)published through xendit_sync
    IN_FLIGHT = "in_flight"  # the event is on its way (queued, processing, retrying): nothing to do
    PERSON = "person"  # needs a person: never overwritten by the reconciliation


class Outcome(StrEnum):
    """What ``--repair`` did for a repairable difference."""

    PLANNED = "planned"  # found without --repair
    PUBLISHED = "published"
    ALREADY_PUBLISHED = "already_published"  # the real callback (or another run) came first
    FAILED = "failed"


@dataclass(frozen=True)
class Window:
    """``[since, until)``, and the whole local days around it (``days``): Xendit is read over whole
    days so a document dated on the window's first or last local day is matched, not called extra."""

    since: datetime
    until: datetime
    days: tuple[datetime, datetime]
    time_zone: str

    def contains(self, moment: datetime) -> bool:
        return self.since <= moment < self.until

    def local_dates(self) -> tuple[date, date]:
        """The first and last local date the window touches (ERPNext posting dates)."""
        start, end = self.days
        return start.date(), (end - timedelta(microseconds=1)).date()


# --- Xendit's side ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ExpectedPayment:
    """A payment Xendit shows, as the ``payment.succeeded`` xendit_sync publishes for it."""

    event: PaymentSucceeded
    repair: DomainEvent | None  # the callback event that would have reported it; None: cannot repair


@dataclass(frozen=True)
class ExpectedRefund:
    event: RefundSucceeded
    repair: DomainEvent | None


@dataclass(frozen=True)
class ExpectedExpiry:
    event: InvoiceExpired
    repair: DomainEvent | None


@dataclass(frozen=True)
class XenditInvoiceView:
    """One of our invoices as Xendit holds it (paid, settled or expired in the window)."""

    invoice_id: str
    customer_id: str
    xendit_invoice_id: str
    currency: str
    amount: Decimal
    status: str
    paid_amount: Decimal | None = None


@dataclass
class XenditFacts:
    """Everything Xendit shows for the window, keyed by our downstream natural keys."""

    payments: dict[str, ExpectedPayment] = field(default_factory=dict)  # by payment id
    refunds: dict[str, ExpectedRefund] = field(default_factory=dict)  # by refund id
    expiries: dict[str, ExpectedExpiry] = field(default_factory=dict)  # by Xendit invoice id
    invoices: dict[str, XenditInvoiceView] = field(default_factory=dict)  # by our invoice id
    #: Payments and refunds Xendit shows just outside the window (read for whole local days): known,
    #: so never "extra", but not checked.
    known_ids: set[str] = field(default_factory=set)
    #: Objects Xendit shows that cannot be ours or cannot be mapped (no owner, unknown currency...).
    unreadable: list[str] = field(default_factory=list)

    @property
    def records(self) -> int:
        return len(self.payments) + len(self.refunds) + len(self.expiries)

    def customers(self) -> set[str]:
        ids = {p.event.customer_id for p in self.payments.values()}
        ids |= {r.event.customer_id for r in self.refunds.values()}
        ids |= {e.event.customer_id for e in self.expiries.values()}
        return ids | {i.customer_id for i in self.invoices.values()}

    def invoice_ids(self) -> set[str]:
        ids = {p.event.invoice_id for p in self.payments.values()}
        ids |= {r.event.invoice_id for r in self.refunds.values()}
        ids |= {e.event.invoice_id for e in self.expiries.values()}
        return ids | set(self.invoices)

    def knows(self, key: str) -> bool:
        return key in self.payments or key in self.refunds or key in self.known_ids


# --- the books ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ErpDoc:
    """An ERPNext document as a list row gives it (no child tables)."""

    name: str
    docstatus: int
    amount: Decimal  # Sales Invoice: grand_total; Payment Entry: paid_amount
    currency: str | None = None
    outstanding: Decimal | None = None
    status: str | None = None
    posting_date: date | None = None
    payment_type: str | None = None


@dataclass
class ErpnextBooks:
    sales_invoices: dict[str, ErpDoc] = field(default_factory=dict)  # by our invoice id
    payment_entries: dict[str, ErpDoc] = field(default_factory=dict)  # by Xendit payment id
    credit_notes: dict[str, ErpDoc] = field(default_factory=dict)  # by Xendit refund id
    refund_entries: dict[str, ErpDoc] = field(default_factory=dict)  # by Xendit refund id
    #: Submitted entries posted on the window's local dates, by their Xendit payment or refund id.
    dated_in_window: dict[str, ErpDoc] = field(default_factory=dict)


@dataclass(frozen=True)
class CmTransaction:
    external_id: str | None
    type: str
    result: str
    amount_in_cents: int | None
    date: datetime


@dataclass(frozen=True)
class CmInvoice:
    uuid: str
    currency: str
    total_in_cents: int
    transactions: tuple[CmTransaction, ...]

    def transaction(self, external_id: str) -> CmTransaction | None:
        return next((t for t in self.transactions if t.external_id == external_id), None)


@dataclass(frozen=True)
class MauticContact:
    id: int
    status: str | None
    open_invoices: str | None
    tags: frozenset[str]


@dataclass
class Books:
    erpnext: ErpnextBooks = field(default_factory=ErpnextBooks)
    chartmogul: dict[str, CmInvoice] = field(default_factory=dict)  # by our invoice id
    contacts: dict[str, MauticContact] = field(default_factory=dict)  # by our customer id
    facts: dict[str, frozenset[str]] = field(default_factory=dict)  # Mautic's billing facts, by customer


# --- what is found ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Difference:
    """One record that does not agree with Xendit, both sides' values, and the event that should have
    produced it (``event_type``/``event_id``) or, for an extra, the record's own key."""

    kind: Kind
    integration: Integration
    record: str  # "Payment Entry", "payment transaction", "billing fact", ...
    key: str  # the downstream natural key: payment, refund, invoice or customer id
    customer_id: str
    invoice_id: str | None
    xendit: Mapping[str, str]
    found: Mapping[str, str] | None
    event_type: str | None
    event_id: str | None
    repair: DomainEvent | None = None
    note: str = ""


@dataclass
class Finding:
    """A difference with its verdict: what will be (or was) done, and why."""

    difference: Difference
    action: Action
    reason: str
    outcome: Outcome | None = None
    detail: str = ""

    @property
    def left_for_a_person(self) -> bool:
        return self.action is Action.PERSON or self.outcome is Outcome.FAILED
