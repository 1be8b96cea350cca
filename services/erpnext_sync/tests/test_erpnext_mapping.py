"""The pure mapping from events to ERPNext documents."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import erpnext_events as ev

from erpnext_sync import mapping
from erpnext_sync.settings import ErpnextSyncSettings
from lovia_billing.clients.erpnext import Customer, SalesInvoice, SalesInvoiceItem

SETTINGS = ErpnextSyncSettings(erpnext_api_key="k", erpnext_api_secret="s")


def test_a_person_without_company_is_an_individual() -> None:
    doc = mapping.customer_document(ev.customer(company=None), SETTINGS)
    assert (doc.customer_name, doc.customer_type, doc.custom_lovia_customer_id) == (
        "Budi Santoso",
        "Individual",
        "cus_1",
    )


def test_only_name_and_type_are_updated() -> None:
    current = Customer(customer_name="Old", customer_type="Company", email_id="old@example.com")
    wanted = mapping.customer_document(ev.customer(), SETTINGS)
    assert mapping.customer_changes(current, wanted) == {"customer_name": "Toko Budi"}


def test_invoice_dates_are_local_and_due_never_before_posting() -> None:
    doc = mapping.sales_invoice_document(ev.invoice(due_date="2025-10-01"), "Toko Budi", SETTINGS)
    assert (doc.posting_date, doc.due_date) == (date(2025, 11, 1), date(2025, 11, 1))
    payload = doc.payload()
    assert payload["items"][0]["rate"] == "150000"
    assert payload["docstatus"] == 1
    assert "grand_total" not in payload
    assert doc.remarks == "Pro plan, November (service period 2025-11-01 to 2025-11-30)"


def test_payment_allocates_at_most_the_outstanding_and_books_fees() -> None:
    invoice = SalesInvoice(name="SI-1", customer="Toko Budi", docstatus=1, outstanding_amount=Decimal(100000))
    entry = mapping.payment_entry_document(ev.payment(), invoice, SETTINGS)
    assert (entry.paid_amount, entry.received_amount) == (Decimal(145500), Decimal(145500))
    assert [r.allocated_amount for r in entry.references] == [Decimal(100000)]
    assert [d.amount for d in entry.deductions] == [Decimal(4500)]
    cancelled = invoice.model_copy(update={"docstatus": 2})
    assert mapping.payment_entry_document(ev.payment(), cancelled, SETTINGS).references == []


def _invoice(*rows: tuple[str, str, int, str]) -> SalesInvoice:
    items = [
        SalesInvoiceItem(name=name, item_code=code, qty=Decimal(qty), rate=Decimal(rate))
        for name, code, qty, rate in rows
    ]
    total = sum((item.qty * item.rate for item in items), Decimal(0))
    return SalesInvoice(
        name="SI-1",
        customer="Toko Budi",
        docstatus=1,
        items=items,
        grand_total=total,
        posting_date=date(2025, 11, 1),
        posting_time="1:30:00",
    )


def test_a_stand_in_customer_is_the_payer_and_the_real_one_renames_it() -> None:
    stand_in = mapping.customer_from_invoice(ev.invoice(payer_email="kasir@tokobudi.id"), SETTINGS)
    assert (
        stand_in.customer_name,
        stand_in.customer_type,
        stand_in.email_id,
        stand_in.custom_lovia_customer_id,
    ) == (
        "kasir@tokobudi.id",
        "Individual",
        "kasir@tokobudi.id",
        "cus_1",
    )
    wanted = mapping.customer_document(ev.customer(), SETTINGS)
    assert mapping.customer_changes(stand_in, wanted) == {
        "customer_name": "Toko Budi",
        "customer_type": "Company",
    }


def test_a_full_refund_returns_every_row_and_a_partial_one_the_fewest_units() -> None:
    invoice = _invoice(("r1", "PLAN-PRO", 1, "100000"), ("r2", "SEAT", 2, "25000"))
    full = mapping.refund_lines(Decimal(150000), invoice, "x", {})
    assert full is not None
    assert [(i.item_code, i.qty, i.rate, i.sales_invoice_item) for i in full] == [
        ("PLAN-PRO", -1, 100000, "r1"),
        ("SEAT", -2, 25000, "r2"),
    ]
    [one] = mapping.refund_lines(Decimal("40000.01"), invoice, "x", {}) or []
    assert (one.item_code, one.qty, one.rate, one.sales_invoice_item) == (
        "PLAN-PRO",
        -1,
        Decimal("40000.01"),
        "r1",
    )
    [spread] = mapping.refund_lines(Decimal(50000), invoice, "x", {"r1": Decimal(1)}) or []
    assert (spread.item_code, spread.qty, spread.rate) == ("SEAT", -2, 25000)
    # An odd cent cannot be spread over two units of 25000: nothing fits, so standalone.
    assert mapping.refund_lines(Decimal("30000.01"), invoice, "x", {"r1": Decimal(1)}) is None


def test_earlier_credit_notes_count_by_row_or_else_by_item() -> None:
    invoice = _invoice(("r1", "PLAN-PRO", 1, "100000"), ("r2", "SEAT", 2, "25000"))
    named = SalesInvoice(
        customer="Toko Budi",
        docstatus=1,
        is_return=1,
        items=[SalesInvoiceItem(item_code="SEAT", qty=Decimal(-1), rate=Decimal(1), sales_invoice_item="r2")],
    )
    by_hand = named.model_copy(
        update={"items": [SalesInvoiceItem(item_code="PLAN-PRO", qty=Decimal(-1), rate=Decimal(1))]}
    )
    draft = named.model_copy(update={"docstatus": 0})
    assert mapping.returned_quantities(invoice, [named, by_hand, draft]) == {"r2": 1, "r1": 1}


def test_a_credit_note_is_posted_no_earlier_than_its_invoice() -> None:
    invoice = _invoice(("r1", "PLAN-PRO", 1, "150000"))
    early = ev.refund(refunded_at="2025-10-31T10:00:00Z")  # 17:00 the day before, in Jakarta
    note = mapping.credit_note_document(early, invoice, SETTINGS)
    assert (note.posting_date, note.posting_time, note.due_date) == (
        date(2025, 11, 1),
        "01:30:00",
        date(2025, 11, 1),
    )
    payload = note.payload()
    assert (payload["is_return"], payload["return_against"], payload["update_outstanding_for_self"]) == (
        1,
        "SI-1",
        1,
    )
    assert "custom_lovia_invoice_id" not in payload  # unique to the original invoice
    late = mapping.credit_note_document(ev.refund(), invoice, SETTINGS)
    assert (late.posting_date, late.posting_time) == (date(2025, 11, 5), "11:00:00")


def test_a_refund_pays_out_at_most_the_credit_left_on_the_note() -> None:
    note = SalesInvoice(
        name="CN-1", customer="Toko Budi", docstatus=1, is_return=1, outstanding_amount=Decimal(-40000)
    )
    entry = mapping.refund_entry_document(ev.refund(amount="50000"), note, SETTINGS)
    assert (entry.payment_type, entry.paid_from, entry.paid_amount) == ("Pay", "Xendit - LV", Decimal(50000))
    assert [(r.reference_name, r.allocated_amount) for r in entry.references] == [("CN-1", Decimal(-40000))]
    settled = note.model_copy(update={"outstanding_amount": Decimal(0)})
    assert mapping.refund_entry_document(ev.refund(), settled, SETTINGS).references == []
