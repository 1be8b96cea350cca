"""Xendit against the books: every difference, with both sides' values. Pure.

What each downstream should hold is what its consumer writes for the event (docs/erpnext.md,
docs/chartmogul.md, docs/mautic.md):

* a payment: a submitted Receive Payment Entry keyed ``custom_xendit_payment_id`` whose
  ``paid_amount`` is the amount less Xendit's fee; a successful ``payment`` transaction on the
  ChartMogul invoice with the payment id as external id and the amount; a ``paid`` fact in Mautic;
* a refund: a submitted credit note and a ``Pay`` entry keyed ``custom_xendit_refund_id``; a
  successful ``refund`` transaction keyed on the refund id; a ``refunded`` fact;
* an expiry: a failed ``payment`` transaction ``<Xendit id>:expired``; an ``expired`` fact
  (ERPNext only gets a comment: not checked);
* an invoice: a submitted Sales Invoice keyed ``custom_lovia_invoice_id`` and a ChartMogul invoice
  with our invoice id, both for the amount; the customer's Mautic contact shows the state of the
  customer's facts (``lovia_billing.mautic_state``).

Documents dated in the window that Xendit does not know are extras.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from decimal import Decimal
from functools import cache
from typing import Any

from billing_cli.reconcile._model import (
    BOOKS,
    Books,
    CmInvoice,
    CmTransaction,
    Difference,
    ErpDoc,
    ExpectedExpiry,
    ExpectedPayment,
    ExpectedRefund,
    Kind,
    MauticContact,
    Window,
    XenditFacts,
    XenditInvoiceView,
)
from lovia_billing import Integration, derive_event_id, to_minor_units
from lovia_billing.billing_facts import Expired, Fact, Paid, Refunded, read_facts
from lovia_billing.mautic_state import OUR_TAGS, billing_state, format_invoice_ids, parse_invoice_ids

E, C, M = Integration.ERPNEXT, Integration.CHARTMOGUL, Integration.MAUTIC
CANCELLED, DRAFT = 2, 0
_EXTRA: dict[str, Any] = {
    "invoice_id": None,
    "xendit": {},
    "event_type": None,
    "event_id": None,
    "note": "Xendit shows no such payment or refund in the window",
}


def money(amount: Decimal | None, currency: str | None = None) -> str:
    """``150000 IDR``: exact digits, never a float."""
    if amount is None:
        return "-"
    text = format(amount.normalize(), "f") if amount == amount.to_integral() else format(amount, "f")
    return f"{text} {currency}" if currency else text


def _doc(doc: ErpDoc, currency: str | None) -> dict[str, str]:
    found = {"name": doc.name, "docstatus": str(doc.docstatus), "amount": money(doc.amount, currency)}
    if doc.status:
        found["status"] = doc.status
    if doc.outstanding is not None:
        found["outstanding"] = money(doc.outstanding, currency)
    return found


class _Comparison:
    def __init__(
        self, xendit: XenditFacts, books: Books, window: Window, integrations: Iterable[Integration]
    ):
        self.xendit = xendit
        self.books = books
        self.window = window
        self.integrations = frozenset(integrations)
        self.found: list[Difference] = []
        self._facts = cache(self._read_facts)

    def add(self, kind: Kind, integration: Integration, record: str, key: str, **fields: Any) -> None:
        self.found.append(Difference(kind=kind, integration=integration, record=record, key=key, **fields))

    def _read_facts(self, customer_id: str) -> tuple[Fact, ...]:
        facts, _unreadable = read_facts(self.books.facts.get(customer_id, frozenset()))
        return tuple(facts)

    # --- payments --------------------------------------------------------------------------------

    def payment(self, expected: ExpectedPayment) -> None:
        event = expected.event
        xendit = {
            "amount": money(event.amount, event.currency),
            "fees": money(event.fees, event.currency),
            "paid_at": event.paid_at.isoformat(),
            "xendit_object": event.xendit_invoice_id,
            "source": event.source.value,
        }
        common: dict[str, Any] = {
            "customer_id": event.customer_id,
            "invoice_id": event.invoice_id,
            "xendit": xendit,
            "event_type": event.event_type.value,
            "event_id": event.event_id,
            "repair": expected.repair,
        }
        if E in self.integrations:
            net = event.amount - min(event.fees, event.amount)
            entry = self.books.erpnext.payment_entries.get(event.payment_id)
            self._erpnext_entry("Payment Entry", event.payment_id, entry, net, event.currency, common)
        if C in self.integrations:
            self._transaction(
                "payment transaction", event.payment_id, "payment", event.amount, event.currency, common
            )
        if M in self.integrations and not any(
            isinstance(f, Paid) and f.payment_id == event.payment_id for f in self._facts(event.customer_id)
        ):
            self.add(Kind.MISSING_IN_MAUTIC, M, "billing fact (paid)", event.payment_id, found=None, **common)

    def _erpnext_entry(
        self,
        record: str,
        key: str,
        entry: ErpDoc | None,
        amount: Decimal,
        currency: str,
        common: Mapping[str, Any],
    ) -> None:
        if entry is None:
            self.add(Kind.MISSING_IN_ERPNEXT, E, record, key, found=None, **common)
            return
        found = _doc(entry, currency)
        if entry.docstatus == CANCELLED:
            self.add(Kind.CANCELLED_IN_ERPNEXT, E, record, key, found=found, **common)
        elif entry.docstatus == DRAFT:
            self.add(
                Kind.STATUS_DIFFERS, E, record, key, found=found, note="a draft, never submitted", **common
            )
        elif entry.amount != amount:
            xendit = {**common["xendit"], "expected_in_erpnext": money(amount, currency)}
            self.add(Kind.AMOUNT_DIFFERS, E, record, key, found=found, **{**common, "xendit": xendit})

    def _transaction(
        self,
        record: str,
        key: str,
        kind: str,
        amount: Decimal,
        currency: str,
        common: Mapping[str, Any],
        *,
        result: str = "successful",
    ) -> None:
        invoice_id = str(common["invoice_id"])
        invoice = self.books.chartmogul.get(invoice_id)
        if invoice is None:
            note = f"ChartMogul has no invoice {invoice_id} to hold it"
            self.add(Kind.MISSING_IN_CHARTMOGUL, C, record, key, found=None, note=note, **common)
            return
        transaction = invoice.transaction(key)
        if transaction is None:
            self.add(Kind.MISSING_IN_CHARTMOGUL, C, record, key, found=None, **common)
            return
        found = {
            "type": transaction.type,
            "result": transaction.result,
            "amount_in_cents": str(transaction.amount_in_cents),
            "date": transaction.date.isoformat(),
        }
        cents = to_minor_units(amount, currency)
        xendit = {**common["xendit"], "amount_in_cents": str(cents)}
        fields = {**common, "xendit": xendit, "found": found}
        if (transaction.type, transaction.result) != (kind, result):
            self.add(Kind.STATUS_DIFFERS, C, record, key, **fields)
        elif transaction.amount_in_cents is not None and transaction.amount_in_cents != cents:
            self.add(Kind.AMOUNT_DIFFERS, C, record, key, **fields)

    # --- refunds and expiries -----------------------------------------------------------------------

    def refund(self, expected: ExpectedRefund) -> None:
        event = expected.event
        common: dict[str, Any] = {
            "customer_id": event.customer_id,
            "invoice_id": event.invoice_id,
            "xendit": {
                "amount": money(event.amount, event.currency),
                "refunded_at": event.refunded_at.isoformat(),
                "payment_id": event.payment_id,
            },
            "event_type": event.event_type.value,
            "event_id": event.event_id,
            "repair": expected.repair,
        }
        if E in self.integrations:
            note = self.books.erpnext.credit_notes.get(event.refund_id)
            self._erpnext_entry("credit note", event.refund_id, note, -event.amount, event.currency, common)
            entry = self.books.erpnext.refund_entries.get(event.refund_id)
            self._erpnext_entry(
                "refund Payment Entry", event.refund_id, entry, event.amount, event.currency, common
            )
        if C in self.integrations:
            self._transaction(
                "refund transaction", event.refund_id, "refund", event.amount, event.currency, common
            )
        if M in self.integrations and not any(
            isinstance(f, Refunded) and f.refund_id == event.refund_id for f in self._facts(event.customer_id)
        ):
            self.add(
                Kind.MISSING_IN_MAUTIC, M, "billing fact (refunded)", event.refund_id, found=None, **common
            )

    def expiry(self, expected: ExpectedExpiry) -> None:
        event = expected.event
        common: dict[str, Any] = {
            "customer_id": event.customer_id,
            "invoice_id": event.invoice_id,
            "xendit": {
                "amount": money(event.amount, event.currency),
                "expired_at": event.expired_at.isoformat(),
            },
            "event_type": event.event_type.value,
            "event_id": event.event_id,
            "repair": expected.repair,
        }
        if C in self.integrations:
            key = f"{event.xendit_invoice_id}:expired"
            self._transaction(
                "failed transaction", key, "payment", event.amount, event.currency, common, result="failed"
            )
        if M in self.integrations and not any(
            isinstance(f, Expired) and f.invoice_id == event.invoice_id
            for f in self._facts(event.customer_id)
        ):
            self.add(
                Kind.MISSING_IN_MAUTIC, M, "billing fact (expired)", event.invoice_id, found=None, **common
            )

    # --- invoices and contacts ---------------------------------------------------------------------

    def invoice(self, view: XenditInvoiceView) -> None:
        issued = derive_event_id("invoice.issued", view.invoice_id)
        common: dict[str, Any] = {
            "customer_id": view.customer_id,
            "invoice_id": view.invoice_id,
            "xendit": {
                "amount": money(view.amount, view.currency),
                "status": view.status,
                "xendit_invoice_id": view.xendit_invoice_id,
            },
            "event_type": "invoice.issued",
            "event_id": issued,
        }
        if E in self.integrations:
            self._sales_invoice(view, common)
        if C in self.integrations:
            invoice = self.books.chartmogul.get(view.invoice_id)
            cents = to_minor_units(view.amount, view.currency)
            if invoice is None:
                self.add(Kind.MISSING_IN_CHARTMOGUL, C, "invoice", view.invoice_id, found=None, **common)
            elif invoice.total_in_cents != cents or invoice.currency != view.currency:
                found = {"total_in_cents": str(invoice.total_in_cents), "currency": invoice.currency}
                xendit = {**common["xendit"], "total_in_cents": str(cents)}
                self.add(
                    Kind.AMOUNT_DIFFERS,
                    C,
                    "invoice",
                    view.invoice_id,
                    found=found,
                    **{**common, "xendit": xendit},
                )

    def _sales_invoice(self, view: XenditInvoiceView, common: Mapping[str, Any]) -> None:
        invoice = self.books.erpnext.sales_invoices.get(view.invoice_id)
        if invoice is None:
            self.add(Kind.MISSING_IN_ERPNEXT, E, "Sales Invoice", view.invoice_id, found=None, **common)
            return
        found = _doc(invoice, view.currency)
        if invoice.docstatus == CANCELLED:
            self.add(Kind.CANCELLED_IN_ERPNEXT, E, "Sales Invoice", view.invoice_id, found=found, **common)
        elif invoice.docstatus == DRAFT:
            self.add(
                Kind.STATUS_DIFFERS,
                E,
                "Sales Invoice",
                view.invoice_id,
                found=found,
                note="a draft",
                **common,
            )
        elif invoice.amount != view.amount or (invoice.currency or view.currency) != view.currency:
            self.add(Kind.AMOUNT_DIFFERS, E, "Sales Invoice", view.invoice_id, found=found, **common)
        elif self._settled_at_xendit(view) and invoice.outstanding:
            note = (
                "Xendit shows it paid in full and every payment is booked, yet ERPNext shows it outstanding"
            )
            self.add(
                Kind.STATUS_DIFFERS, E, "Sales Invoice", view.invoice_id, found=found, note=note, **common
            )

    def _settled_at_xendit(self, view: XenditInvoiceView) -> bool:
        """Paid in full at Xendit, and every payment of it we know is a submitted entry in ERPNext."""
        if view.paid_amount is None or view.paid_amount < view.amount:
            return False
        payments = [p for p in self.xendit.payments.values() if p.event.invoice_id == view.invoice_id]
        entries = [self.books.erpnext.payment_entries.get(p.event.payment_id) for p in payments]
        return bool(payments) and all(e is not None and e.docstatus == 1 for e in entries)

    def contact(self, customer_id: str) -> None:
        """The contact shows the state of the customer's facts (``lovia_billing.mautic_state``)."""
        facts = self._facts(customer_id)
        contact = self.books.contacts.get(customer_id)
        if not facts:
            return  # nothing recorded yet: any missing fact is reported on its own
        state = billing_state(facts)
        wanted = {
            "billing_status": state.status.value,
            "open_invoices": format_invoice_ids(state.open_invoices),
            "tags": ",".join(sorted(state.tags)),
        }
        common: dict[str, Any] = {
            "customer_id": customer_id,
            "invoice_id": None,
            "xendit": wanted,
            "event_type": None,
            "event_id": None,
        }
        if contact is None:
            note = "mautic_sync creates it from customer.upserted (or invoice.issued's payer e-mail)"
            self.add(Kind.MISSING_IN_MAUTIC, M, "contact", customer_id, found=None, note=note, **common)
            return
        found = _contact_values(contact)
        ours = contact.tags & OUR_TAGS
        if (
            found["billing_status"] != wanted["billing_status"]
            or parse_invoice_ids(contact.open_invoices) != state.open_invoices
            or ours != set(state.tags)
        ):
            note = "the contact does not show the state of the customer's billing facts"
            self.add(Kind.STATUS_DIFFERS, M, "contact", customer_id, found=found, note=note, **common)

    # --- extras ---------------------------------------------------------------------------------------

    def extras(self) -> None:
        if E in self.integrations:
            for key, doc in sorted(self.books.erpnext.dated_in_window.items()):
                if not self.xendit.knows(key) and doc.docstatus == 1:
                    record = "refund Payment Entry" if doc.payment_type == "Pay" else "Payment Entry"
                    found = {**_doc(doc, doc.currency), "posting_date": str(doc.posting_date)}
                    self.add(Kind.EXTRA_IN_ERPNEXT, E, record, key, customer_id="", found=found, **_EXTRA)
        if C in self.integrations:
            for invoice_id, invoice in sorted(self.books.chartmogul.items()):
                for extra in _unknown_transactions(invoice, self.xendit, self.window):
                    found = {
                        "type": extra.type,
                        "result": extra.result,
                        "amount_in_cents": str(extra.amount_in_cents),
                        "date": extra.date.isoformat(),
                    }
                    view = self.xendit.invoices.get(invoice_id)
                    record, key = f"{extra.type} transaction", str(extra.external_id)
                    customer = view.customer_id if view else ""
                    fields = {**_EXTRA, "invoice_id": invoice_id}
                    self.add(
                        Kind.EXTRA_IN_CHARTMOGUL, C, record, key, customer_id=customer, found=found, **fields
                    )


def _contact_values(contact: MauticContact) -> dict[str, str]:
    return {
        "billing_status": contact.status or "",
        "open_invoices": format_invoice_ids(parse_invoice_ids(contact.open_invoices)),
        "tags": ",".join(sorted(contact.tags & OUR_TAGS)),
        "contact_id": str(contact.id),
    }


def _unknown_transactions(invoice: CmInvoice, xendit: XenditFacts, window: Window) -> Iterator[CmTransaction]:
    """Successful payments and refunds dated in the window whose external id Xendit does not show."""
    for transaction in invoice.transactions:
        if transaction.result != "successful" or not window.contains(transaction.date):
            continue
        if transaction.external_id is None or not xendit.knows(transaction.external_id):
            yield transaction


def compare(
    xendit: XenditFacts,
    books: Books,
    window: Window,
    integrations: Iterable[Integration] = BOOKS,
) -> list[Difference]:
    """Every difference between what Xendit shows for ``window`` and the books, in a stable order."""
    comparison = _Comparison(xendit, books, window, integrations)
    for invoice_id in sorted(xendit.invoices):
        comparison.invoice(xendit.invoices[invoice_id])
    for payment_id in sorted(xendit.payments):
        comparison.payment(xendit.payments[payment_id])
    for refund_id in sorted(xendit.refunds):
        comparison.refund(xendit.refunds[refund_id])
    for xendit_id in sorted(xendit.expiries):
        comparison.expiry(xendit.expiries[xendit_id])
    if M in comparison.integrations:
        for customer_id in sorted(xendit.customers()):
            comparison.contact(customer_id)
    comparison.extras()
    return comparison.found
