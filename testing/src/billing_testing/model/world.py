"""The model of the model-based test: what the books must say, from what was asked and what Xendit did.

Pure: no I/O. ``World`` records the requests the ingest accepted and refused and the callbacks we
forged; ``Truth`` is what the Xendit sandbox says happened (the real payments and refunds);
``Books`` is what ERPNext, ChartMogul and Mautic hold; ``violations`` compares them against the
exactly-once promise:

* every Xendit-confirmed payment booked exactly once in ERPNext and ChartMogul, with its amount;
* no booking that Xendit did not confirm (forged callbacks book nothing);
* no Xendit invoice for a request the ingest refused, exactly one for each it accepted;
* Mautic's billing state equals the facts;
* the queues drained, and the DLQs hold nothing but the forged callbacks (explained).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any


@dataclass
class World:
    """What the model did to the system (requests answered, callbacks forged)."""

    prefix: str
    customers: dict[str, str] = field(default_factory=dict)  # customer id -> e-mail
    upserted: set[str] = field(default_factory=set)
    invoices: dict[str, tuple[str, int]] = field(default_factory=dict)  # accepted: id -> (customer, amount)
    bodies: dict[str, dict[str, Any]] = field(default_factory=dict)  # accepted invoice id -> its body
    refused_invoices: set[str] = field(default_factory=set)
    forged_events: set[str] = field(default_factory=set)
    cancelled: dict[str, list[datetime]] = field(default_factory=dict)  # customer -> cancellation times
    accepted_events: set[str] = field(default_factory=set)
    steps: Counter[str] = field(default_factory=Counter)
    log: list[str] = field(default_factory=list)  # the program, one action a line

    def customer_of(self, invoice_id: str) -> str:
        return self.invoices[invoice_id][0]


@dataclass(frozen=True)
class Payment:
    payment_id: str
    invoice_id: str  # our invoice id (the Xendit invoice's external_id)
    amount: Decimal
    at: datetime


@dataclass(frozen=True)
class Refund:
    refund_id: str
    payment_id: str
    invoice_id: str
    amount: Decimal
    at: datetime


def _our_invoice(metadata: Any, reference_id: Any) -> str:
    """The Lovia invoice a product's object names (metadata, else reference id), as xendit_sync reads it."""
    named = (metadata or {}).get("lovia_invoice_id") if isinstance(metadata, dict) else None
    return str(named or reference_id or "")


def _time(value: Any) -> datetime:
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


@dataclass
class Truth:
    """What Xendit says happened, read from the sandbox's state."""

    xendit_invoices: Counter[str] = field(default_factory=Counter)  # external_id -> how many
    xendit_amounts: dict[str, Decimal] = field(default_factory=dict)
    statuses: dict[str, str] = field(default_factory=dict)  # external_id -> status
    issued_at: dict[str, datetime] = field(default_factory=dict)
    expired_at: dict[str, datetime] = field(default_factory=dict)
    payments: dict[str, Payment] = field(default_factory=dict)
    refunds: dict[str, Refund] = field(default_factory=dict)

    @classmethod
    def from_sandbox(cls, state: dict[str, Any]) -> Truth:
        truth = cls()
        for invoice in state.get("invoices", []):
            external = str(invoice["external_id"])
            truth.xendit_invoices[external] += 1
            truth.xendit_amounts[external] = Decimal(str(invoice["amount"]))
            truth.statuses[external] = str(invoice["status"])
            truth.issued_at[external] = _time(invoice["created"])
            if invoice["status"] == "EXPIRED":
                truth.expired_at[external] = min(_time(invoice["expiry_date"]), _time(invoice["updated"]))
            if invoice["status"] in ("PAID", "SETTLED"):
                payment_id = str(
                    invoice.get("payment_id") or invoice.get("credit_card_charge_id") or invoice["id"]
                )
                paid = Decimal(str(invoice.get("paid_amount", invoice["amount"])))
                truth.payments[payment_id] = Payment(payment_id, external, paid, _time(invoice["paid_at"]))
        by_xendit_id = {str(i["id"]): str(i["external_id"]) for i in state.get("invoices", [])}
        requests = {str(r["id"]): r for r in state.get("payment_requests", [])}
        for capture in state.get("captures", []):  # payment requests, recurring cycles' charges too
            request = requests.get(str(capture["payment_request_id"]), {})
            if capture.get("status") == "SUCCEEDED" and capture["payment_id"] not in truth.payments:
                truth.payments[str(capture["payment_id"])] = Payment(
                    str(capture["payment_id"]),
                    _our_invoice(request.get("metadata"), request.get("reference_id")),
                    Decimal(str(capture["captured_amount"])),
                    _time(capture["updated"]),
                )
        for charge in state.get("ewallet_charges", []):
            if charge.get("status") == "SUCCEEDED" and charge["id"] not in truth.payments:
                amount = charge.get("capture_amount") or charge["charge_amount"]
                truth.payments[str(charge["id"])] = Payment(
                    str(charge["id"]),
                    _our_invoice(charge.get("metadata"), charge.get("reference_id")),
                    Decimal(str(amount)),
                    _time(charge["updated"]),
                )
        for refund in state.get("refunds", []):
            if refund.get("status") != "SUCCEEDED":
                continue
            external = by_xendit_id.get(str(refund.get("invoice_id")), "")
            if not external and refund.get("payment_request_id"):
                request = requests.get(str(refund["payment_request_id"]), {})
                external = _our_invoice(request.get("metadata"), request.get("reference_id"))
            truth.refunds[str(refund["id"])] = Refund(
                str(refund["id"]),
                str(refund.get("payment_id")),
                external,
                Decimal(str(refund["amount"])),
                _time(refund["updated"]),
            )
        return truth


@dataclass
class Books:
    """What the downstream systems hold, read from the sandboxes' state."""

    payment_entries: list[dict[str, Any]]
    sales_invoices: list[dict[str, Any]]
    customers: list[dict[str, Any]]
    cm_invoices: list[dict[str, Any]]
    contacts: list[dict[str, Any]]

    @classmethod
    def from_sandboxes(
        cls, erpnext: dict[str, Any], chartmogul: dict[str, Any], mautic: dict[str, Any]
    ) -> Books:
        documents = erpnext["documents"]
        return cls(
            payment_entries=documents.get("Payment Entry", []),
            sales_invoices=documents.get("Sales Invoice", []),
            customers=documents.get("Customer", []),
            cm_invoices=chartmogul["invoices"],
            contacts=[{**c, **c["fields"]["all"]} for c in mautic["contacts"].values()],
        )


def expected_tags(world: World, truth: Truth, customer_id: str) -> set[str]:
    """The billing tags the facts call for (docs/mautic.md, "Billing state"), derived here on its own.

    The facts are replayed in business-time order (issued, paid, refunded, cancelled, expired at
    equal times): per invoice what it received decides paid / partially paid / refunded; for the
    customer the last settling fact decides the standing (paid, payment failed or refunded), a
    cancellation ends "paid" and any later payment is a come-back.
    """
    owned = {i for i, (c, _) in world.invoices.items() if c == customer_id}
    due = {i: truth.xendit_amounts.get(i, Decimal(world.invoices[i][1])) for i in owned}
    facts: list[tuple[datetime, int, str, str, Decimal]] = []
    for invoice in owned:
        if invoice in truth.issued_at:
            facts.append((truth.issued_at[invoice], 0, "issued", invoice, Decimal(0)))
        if invoice in truth.expired_at:
            facts.append((truth.expired_at[invoice], 4, "expired", invoice, Decimal(0)))
    facts += [
        (p.at, 1, "paid", p.invoice_id, p.amount) for p in truth.payments.values() if p.invoice_id in owned
    ]
    facts += [
        (r.at, 2, "refunded", r.invoice_id, r.amount) for r in truth.refunds.values() if r.invoice_id in owned
    ]
    facts += [(at, 3, "cancelled", "", Decimal(0)) for at in world.cancelled.get(customer_id, [])]
    received = {i: Decimal(0) for i in owned}
    state = dict.fromkeys(owned, "none")  # none (not issued) / unpaid / partial / paid / refunded
    expired: set[str] = set()
    standing, cancelled = "", False
    for _, _, kind, invoice, amount in sorted(facts):
        if kind == "issued":
            state[invoice] = "unpaid" if state[invoice] == "none" else state[invoice]
        elif kind == "paid":
            received[invoice] += amount
            cancelled = False
            if state[invoice] == "paid" or received[invoice] >= due[invoice]:
                state[invoice] = "paid"
                standing = "billing-paid"
            elif received[invoice] > 0:
                state[invoice] = "partial"
        elif kind == "refunded":
            received[invoice] -= amount
            if received[invoice] <= 0:
                state[invoice] = "refunded"
                standing = "billing-refunded"
        elif kind == "cancelled":
            cancelled = True
            standing = "" if standing == "billing-paid" else standing
        elif kind == "expired":
            expired.add(invoice)
            if state[invoice] in ("unpaid", "partial", "none") and not cancelled:
                standing = "billing-payment-failed"
    tags = {standing} - {""}
    if any(state[i] in ("unpaid", "partial") for i in owned if i not in expired):
        tags.add("billing-open-invoice")
    if any(state[i] == "partial" for i in owned if i not in expired):
        tags.add("billing-partially-paid")
    if cancelled:
        tags.add("billing-cancelled")
    return tags


def violations(world: World, truth: Truth, books: Books, dead_events: set[str]) -> list[str]:
    found: list[str] = []
    # No Xendit invoice for a refused request; exactly one for each accepted one.
    for invoice_id in world.refused_invoices:
        if truth.xendit_invoices[invoice_id]:
            found.append(f"Xendit invoice created for refused request {invoice_id}")
    for invoice_id, (_, amount) in world.invoices.items():
        count = truth.xendit_invoices[invoice_id]
        if count != 1:
            found.append(f"{count} Xendit invoices for {invoice_id}")
        elif truth.xendit_amounts[invoice_id] != amount:
            found.append(
                f"Xendit invoice {invoice_id} is for {truth.xendit_amounts[invoice_id]}, not {amount}"
            )
    ours = set(world.invoices)
    # Every confirmed payment exactly once in ERPNext and ChartMogul; nothing else booked.
    entries = Counter(
        str(p.get("custom_xendit_payment_id"))
        for p in books.payment_entries
        if p.get("payment_type", "Receive") == "Receive" and p.get("docstatus") == 1
    )
    transactions = Counter(
        str(t["external_id"])
        for i in books.cm_invoices
        if i["external_id"] in ours
        for t in i["transactions"]
        if t["type"] == "payment" and t["result"] == "successful"
    )
    for payment_id, payment in truth.payments.items():
        if payment.invoice_id not in ours:
            continue
        if entries[payment_id] != 1:
            found.append(
                f"payment {payment_id} ({payment.invoice_id}): {entries[payment_id]} Payment Entries"
            )
        if transactions[payment_id] != 1:
            found.append(f"payment {payment_id}: {transactions[payment_id]} ChartMogul transactions")
    for payment_id in (set(entries) | set(transactions)) - set(truth.payments):
        found.append(f"booked without Xendit's confirmation: {payment_id}")
    # Every confirmed refund exactly once: a Pay entry (with its credit note) and a ChartMogul refund.
    pay_outs = Counter(
        str(p.get("custom_xendit_refund_id"))
        for p in books.payment_entries
        if p.get("payment_type") == "Pay" and p.get("docstatus") == 1
    )
    refund_transactions = Counter(
        str(t["external_id"])
        for i in books.cm_invoices
        if i["external_id"] in ours
        for t in i["transactions"]
        if t["type"] == "refund"
    )
    for refund_id, refund in truth.refunds.items():
        if refund.invoice_id not in ours:
            continue
        if pay_outs[refund_id] != 1:
            found.append(f"refund {refund_id} of {refund.invoice_id}: {pay_outs[refund_id]} Pay entries")
        if refund_transactions[refund_id] != 1:
            found.append(f"refund {refund_id}: {refund_transactions[refund_id]} ChartMogul refunds")
    for refund_id in (set(pay_outs) | set(refund_transactions)) - set(truth.refunds):
        found.append(f"refund booked without Xendit's confirmation: {refund_id}")
    # One Sales Invoice and one ChartMogul invoice per accepted invoice.
    sales = Counter(
        str(s.get("custom_lovia_invoice_id")) for s in books.sales_invoices if not s.get("is_return")
    )
    cm = Counter(str(i["external_id"]) for i in books.cm_invoices)
    for invoice_id in ours:
        if sales[invoice_id] != 1:
            found.append(f"{sales[invoice_id]} Sales Invoices for {invoice_id}")
        if cm[invoice_id] != 1:
            found.append(f"{cm[invoice_id]} ChartMogul invoices for {invoice_id}")
    # Mautic: one contact per customer with events, tags equal to the facts.
    contacts: dict[str, list[dict[str, Any]]] = {}
    for contact in books.contacts:
        contacts.setdefault(str(contact.get("billing_customer_id")), []).append(contact)
    involved = world.upserted | {c for c, _ in world.invoices.values()}
    for customer_id in involved:
        mine = contacts.get(customer_id, [])
        if len(mine) != 1:
            found.append(f"{len(mine)} Mautic contacts for {customer_id}")
            continue
        tags = {t["tag"] for t in mine[0]["tags"] if t["tag"].startswith("billing-")}
        want = expected_tags(world, truth, customer_id)
        if tags != want:
            found.append(f"Mautic {customer_id}: tags {sorted(tags)}, facts say {sorted(want)}")
    # The DLQs hold only forged callbacks.
    for event_id in dead_events - world.forged_events:
        found.append(f"dead letter not explained by a forged callback: {event_id}")
    return found
