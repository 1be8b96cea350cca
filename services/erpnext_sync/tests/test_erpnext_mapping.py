"""The pure mapping from events to ERPNext documents."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import erpnext_events as ev

from erpnext_sync import mapping
from erpnext_sync.settings import ErpnextSyncSettings
from lovia_billing.clients.erpnext import Customer, SalesInvoice

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
