"""erpnext_sync's handlers against the ERPNext sandbox over HTTP: one of everything, whatever happens."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

import erpnext_events as ev
import httpx
import pytest

from billing_sandboxes.erpnext import CUSTOM_FIELDS as SANDBOX_FIELDS
from billing_testing.context import RecordingContext
from erpnext_sync.app import build
from erpnext_sync.handlers import ErpnextHandlers
from erpnext_sync.settings import ErpnextSyncSettings
from lovia_billing import EventType, Integration, PermanentError, RateLimited, RetryableError
from lovia_billing.clients.erpnext import CUSTOM_FIELDS, ErpnextClient


def fault(base: str, **rule: Any) -> None:
    httpx.post(f"{base}/_sandbox/faults", json=rule).raise_for_status()


def fired(base: str) -> list[int]:
    return [rule["fired"] for rule in httpx.get(f"{base}/_sandbox/faults").json()]


def docs(base: str, doctype: str) -> list[dict[str, Any]]:
    state = httpx.get(f"{base}/_sandbox/state", params={"doctype": doctype}).json()
    found: list[dict[str, Any]] = state["documents"][doctype]
    return found


async def deliver_flow(handlers: ErpnextHandlers, ctx: RecordingContext) -> None:
    await handlers.on_customer_upserted(ev.customer(), ctx)
    await handlers.on_invoice_issued(ev.invoice(), ctx)
    await handlers.on_payment_succeeded(ev.payment(), ctx)


def assert_one_of_each(erpnext: str) -> None:
    customers, invoices, entries = (
        docs(erpnext, dt) for dt in ("Customer", "Sales Invoice", "Payment Entry")
    )
    assert [c["custom_lovia_customer_id"] for c in customers] == ["cus_1"]
    assert [(i["custom_lovia_invoice_id"], i["docstatus"], i["status"]) for i in invoices] == [
        ("inv_1", 1, "Paid")
    ]
    assert invoices[0]["outstanding_amount"] == 0
    assert [(e["custom_xendit_payment_id"], e["docstatus"]) for e in entries] == [("pay_1", 1)]


async def test_customer_invoice_payment_give_one_of_each_with_the_right_amounts(
    erpnext: str, handlers: ErpnextHandlers, ctx: RecordingContext
) -> None:
    await deliver_flow(handlers, ctx)
    assert_one_of_each(erpnext)
    (customer,) = docs(erpnext, "Customer")
    assert (customer["name"], customer["customer_type"], customer["email_id"]) == (
        "Toko Budi",
        "Company",
        "budi@example.com",
    )
    (invoice,) = docs(erpnext, "Sales Invoice")
    assert invoice["customer"] == "Toko Budi"
    assert (invoice["posting_date"], invoice["posting_time"], invoice["set_posting_time"]) == (
        "2025-11-01",
        "01:30:00",
        1,
    )
    assert invoice["due_date"] == "2025-11-08"
    assert invoice["grand_total"] == Decimal("150000")
    assert invoice["custom_xendit_invoice_id"] == "xnd_inv_1"
    assert invoice["custom_lovia_subscription_id"] == "sub_1"
    assert [(row["item_code"], row["qty"], row["rate"]) for row in invoice["items"]] == [
        ("PLAN-PRO", 1, 150000)
    ]
    (entry,) = docs(erpnext, "Payment Entry")
    assert (entry["party"], entry["paid_to"], entry["mode_of_payment"]) == (
        "Toko Budi",
        "Xendit - LV",
        "Xendit",
    )
    assert (entry["paid_amount"], entry["reference_no"], entry["posting_date"]) == (
        145500,
        "pay_1",
        "2025-11-02",
    )
    assert [(d["account"], d["amount"]) for d in entry["deductions"]] == [("Payment Gateway Fees - LV", 4500)]
    assert [(r["reference_name"], r["allocated_amount"]) for r in entry["references"]] == [
        (invoice["name"], 150000)
    ]


async def test_three_deliveries_still_give_one_of_each(
    erpnext: str, handlers: ErpnextHandlers, ctx: RecordingContext
) -> None:
    for _ in range(3):
        await deliver_flow(handlers, ctx)
    assert_one_of_each(erpnext)


async def test_commit_then_504_on_each_write_still_gives_one_of_each(
    erpnext: str, handlers: ErpnextHandlers, ctx: RecordingContext
) -> None:
    for doctype in ("Customer", "Sales Invoice", "Payment Entry"):  # fault paths match the decoded path
        fault(erpnext, kind="commit_then_fail", method="POST", path=f"/api/resource/{doctype}", count=1)
    await deliver_flow(handlers, ctx)
    assert fired(erpnext) == [1, 1, 1]
    assert_one_of_each(erpnext)


async def test_a_lost_customer_update_is_redone_on_redelivery(
    erpnext: str, handlers: ErpnextHandlers, ctx: RecordingContext
) -> None:
    await handlers.on_customer_upserted(ev.customer(), ctx)
    renamed = ev.customer(company="Toko Budi Jaya", request_key="key-2")
    fault(erpnext, kind="commit_then_fail", method="PUT", count=1)
    with pytest.raises(RetryableError):
        await handlers.on_customer_upserted(renamed, ctx)
    await handlers.on_customer_upserted(renamed, ctx)
    (customer,) = docs(erpnext, "Customer")
    assert (customer["name"], customer["customer_name"]) == ("Toko Budi", "Toko Budi Jaya")


async def test_a_timeout_before_the_write_lands_is_settled_by_the_next_delivery(
    erpnext: str, settings: ErpnextSyncSettings, ctx: RecordingContext
) -> None:
    async with ErpnextClient(
        erpnext, "local-erpnext-key", "local-erpnext-secret", timeout=httpx.Timeout(0.3)
    ) as slow:
        handlers = ErpnextHandlers(slow, settings)
        await handlers.on_customer_upserted(ev.customer(), ctx)
        fault(
            erpnext, kind="timeout", method="POST", path="/api/resource/Sales Invoice", hang_ms=500, count=1
        )
        with pytest.raises(RetryableError):
            await handlers.on_invoice_issued(ev.invoice(), ctx)
        await asyncio.sleep(0.5)  # the held request is served meanwhile: the write lands late
        await handlers.on_invoice_issued(ev.invoice(), ctx)
    assert [i["custom_lovia_invoice_id"] for i in docs(erpnext, "Sales Invoice")] == ["inv_1"]


async def test_a_draft_left_by_a_crash_is_submitted_not_duplicated(
    erpnext: str, client: ErpnextClient, handlers: ErpnextHandlers, ctx: RecordingContext
) -> None:
    await handlers.on_customer_upserted(ev.customer(), ctx)
    draft = {"customer": "Toko Budi", "custom_lovia_invoice_id": "inv_1", "disable_rounded_total": 1}
    draft["items"] = [{"item_code": "PLAN-PRO", "qty": 1, "rate": "150000"}]
    await client.insert("Sales Invoice", draft)
    await handlers.on_invoice_issued(ev.invoice(), ctx)
    assert [(i["docstatus"], i["status"]) for i in docs(erpnext, "Sales Invoice")] == [(1, "Unpaid")]


async def test_a_payment_before_its_invoice_is_retried(
    handlers: ErpnextHandlers, ctx: RecordingContext
) -> None:
    await handlers.on_customer_upserted(ev.customer(), ctx)
    with pytest.raises(RetryableError, match="no Sales Invoice for inv_1"):
        await handlers.on_payment_succeeded(ev.payment(), ctx)


async def test_an_invoice_before_its_customer_is_booked_and_the_customer_completed_later(
    erpnext: str, handlers: ErpnextHandlers, ctx: RecordingContext
) -> None:
    await handlers.on_invoice_issued(ev.invoice(payer_email="kasir@tokobudi.id"), ctx)
    (stand_in,) = docs(erpnext, "Customer")
    assert (stand_in["customer_name"], stand_in["customer_type"], stand_in["email_id"]) == (
        "kasir@tokobudi.id",
        "Individual",
        "kasir@tokobudi.id",
    )
    (invoice,) = docs(erpnext, "Sales Invoice")
    assert (invoice["customer"], invoice["docstatus"]) == (stand_in["name"], 1)
    await handlers.on_payment_succeeded(ev.payment(), ctx)
    for _ in range(2):  # a redelivery changes nothing more
        await handlers.on_customer_upserted(ev.customer(), ctx)
    (customer,) = docs(erpnext, "Customer")
    assert (customer["name"], customer["custom_lovia_customer_id"]) == (stand_in["name"], "cus_1")
    assert (customer["customer_name"], customer["customer_type"]) == ("Toko Budi", "Company")
    (invoice,) = docs(erpnext, "Sales Invoice")
    assert (invoice["customer"], invoice["customer_name"], invoice["status"]) == (
        stand_in["name"],
        "kasir@tokobudi.id",  # the name the invoice was issued to, kept as booked
        "Paid",
    )


async def test_429_raises_rate_limited_with_its_delay(
    erpnext: str, handlers: ErpnextHandlers, ctx: RecordingContext
) -> None:
    fault(erpnext, kind="rate_limit", retry_after=12, count=1)
    with pytest.raises(RateLimited) as caught:
        await handlers.on_customer_upserted(ev.customer(), ctx)
    assert caught.value.retry_after == 12.0


async def test_an_unknown_item_is_permanent_with_the_erpnext_message(
    erpnext: str, handlers: ErpnextHandlers, ctx: RecordingContext
) -> None:
    await handlers.on_customer_upserted(ev.customer(), ctx)
    lines = [{"item_code": "PLAN-GHOST", "description": "?", "quantity": 1, "unit_amount": "150000"}]
    with pytest.raises(PermanentError, match="Could not find Row #1: Item Code: PLAN-GHOST"):
        await handlers.on_invoice_issued(ev.invoice(lines=lines), ctx)
    assert docs(erpnext, "Sales Invoice") == []


async def test_partial_and_extra_payments_are_allocated_up_to_the_outstanding(
    erpnext: str, handlers: ErpnextHandlers, ctx: RecordingContext
) -> None:
    await handlers.on_customer_upserted(ev.customer(), ctx)
    await handlers.on_invoice_issued(ev.invoice(due_date="2099-12-31"), ctx)  # not overdue yet
    await handlers.on_payment_succeeded(ev.payment("pay_1", amount="50000", fees="0"), ctx)
    (invoice,) = docs(erpnext, "Sales Invoice")
    assert (invoice["status"], invoice["outstanding_amount"]) == ("Partly Paid", 100000)
    await handlers.on_payment_succeeded(ev.payment("pay_2", amount="150000", fees="0"), ctx)
    await handlers.on_payment_succeeded(ev.payment("pay_3", amount="10000", fees="0"), ctx)
    (invoice,) = docs(erpnext, "Sales Invoice")
    assert (invoice["status"], invoice["outstanding_amount"]) == ("Paid", 0)
    entries = {e["custom_xendit_payment_id"]: e for e in docs(erpnext, "Payment Entry")}
    assert (entries["pay_2"]["total_allocated_amount"], entries["pay_2"]["unallocated_amount"]) == (
        100000,
        50000,
    )
    assert (entries["pay_3"]["references"], entries["pay_3"]["unallocated_amount"]) == ([], 10000)


async def test_two_partial_payments_are_two_entries_and_a_redelivered_one_is_not_a_third(
    erpnext: str, handlers: ErpnextHandlers, ctx: RecordingContext
) -> None:
    await handlers.on_customer_upserted(ev.customer(), ctx)
    await handlers.on_invoice_issued(ev.invoice(due_date="2099-12-31"), ctx)
    for _ in range(2):
        await handlers.on_payment_succeeded(ev.payment("pay_1", amount="60000", fees="1800"), ctx)
    (invoice,) = docs(erpnext, "Sales Invoice")
    assert (invoice["status"], invoice["outstanding_amount"]) == ("Partly Paid", 90000)
    await handlers.on_payment_succeeded(ev.payment("pay_2", amount="90000", fees="2700"), ctx)
    (invoice,) = docs(erpnext, "Sales Invoice")
    assert (invoice["status"], invoice["outstanding_amount"]) == ("Paid", 0)
    entries = sorted(docs(erpnext, "Payment Entry"), key=lambda e: str(e["custom_xendit_payment_id"]))
    assert [
        (e["custom_xendit_payment_id"], e["paid_amount"], e["total_allocated_amount"]) for e in entries
    ] == [
        ("pay_1", 58200, 60000),
        ("pay_2", 87300, 90000),
    ]


async def test_expiry_and_cancellation_leave_amounts_and_comment_once(
    erpnext: str, handlers: ErpnextHandlers, ctx: RecordingContext
) -> None:
    await handlers.on_customer_upserted(ev.customer(), ctx)
    await handlers.on_invoice_issued(ev.invoice("inv_1"), ctx)
    await handlers.on_invoice_issued(ev.invoice("inv_2"), ctx)
    await handlers.on_payment_succeeded(ev.payment("pay_2", invoice_id="inv_2"), ctx)
    for _ in range(2):
        await handlers.on_invoice_expired(ev.expired("inv_1"), ctx)
        await handlers.on_invoice_expired(ev.expired("inv_2"), ctx)
        await handlers.on_subscription_cancelled(ev.cancelled(), ctx)
    invoices = {i["custom_lovia_invoice_id"]: i for i in docs(erpnext, "Sales Invoice")}
    assert (invoices["inv_1"]["docstatus"], invoices["inv_1"]["outstanding_amount"]) == (1, 150000)
    comments = docs(erpnext, "Comment")
    assert {c["reference_name"] for c in comments} == {invoices["inv_1"]["name"]}
    assert len(comments) == 2
    assert any("expired unpaid" in c["content"] for c in comments)
    assert any("too expensive" in c["content"] for c in comments)


def test_build_wires_six_handlers_and_closes_the_client(settings: ErpnextSyncSettings) -> None:
    app = build(settings)
    assert app.integration is Integration.ERPNEXT
    assert set(app.handlers) == {
        EventType.CUSTOMER_UPSERTED,
        EventType.INVOICE_ISSUED,
        EventType.PAYMENT_SUCCEEDED,
        EventType.REFUND_SUCCEEDED,
        EventType.INVOICE_EXPIRED,
        EventType.SUBSCRIPTION_CANCELLED,
    }
    assert len(app.resources) == 1
    assert isinstance(app.resources[0], ErpnextClient)


def test_the_sandbox_seeds_the_custom_fields_the_client_sets_up() -> None:
    seeded = {(f["dt"], f["fieldname"], bool(f.get("unique"))) for f in SANDBOX_FIELDS}
    assert seeded == {(spec.dt, spec.fieldname, spec.unique) for spec in CUSTOM_FIELDS}


# ---------------------------------------------------------------- refunds
def booked(erpnext: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The original invoice and its payment entry, as they stand."""
    (invoice,) = [i for i in docs(erpnext, "Sales Invoice") if not i.get("is_return")]
    (entry,) = [e for e in docs(erpnext, "Payment Entry") if e["payment_type"] == "Receive"]
    return invoice, entry


def refunds(erpnext: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    notes = [i for i in docs(erpnext, "Sales Invoice") if i.get("is_return")]
    pays = [e for e in docs(erpnext, "Payment Entry") if e["payment_type"] == "Pay"]
    return notes, pays


def unchanged(before: dict[str, Any], after: dict[str, Any]) -> bool:
    """Equal but for what ERPNext itself recomputes on the invoice when a credit note is issued."""
    ignored = {"status", "modified"}
    return {k: v for k, v in before.items() if k not in ignored} == {
        k: v for k, v in after.items() if k not in ignored
    }


async def test_a_full_refund_is_a_credit_note_paid_out_and_the_originals_stay_as_booked(
    erpnext: str, handlers: ErpnextHandlers, ctx: RecordingContext
) -> None:
    await deliver_flow(handlers, ctx)
    invoice_before, payment_before = booked(erpnext)
    await handlers.on_refund_succeeded(ev.refund(), ctx)
    (note,), (pay,) = refunds(erpnext)
    assert (note["is_return"], note["return_against"], note["docstatus"], note["customer"]) == (
        1,
        invoice_before["name"],
        1,
        "Toko Budi",
    )
    assert (note["grand_total"], note["outstanding_amount"], note["status"]) == (-150000, 0, "Return")
    assert (note["custom_xendit_refund_id"], note["posting_date"], note["posting_time"]) == (
        "rfd_1",
        "2025-11-05",
        "11:00:00",
    )
    assert [(r["item_code"], r["qty"], r["rate"], r["sales_invoice_item"]) for r in note["items"]] == [
        ("PLAN-PRO", -1, 150000, invoice_before["items"][0]["name"])
    ]
    assert (pay["party"], pay["paid_from"], pay["paid_to"], pay["paid_amount"], pay["docstatus"]) == (
        "Toko Budi",
        "Xendit - LV",
        "Debtors - LV",
        150000,
        1,
    )
    assert (pay["reference_no"], pay["custom_xendit_refund_id"], pay["unallocated_amount"]) == (
        "rfd_1",
        "rfd_1",
        0,
    )
    assert [(r["reference_name"], r["allocated_amount"]) for r in pay["references"]] == [
        (note["name"], -150000)
    ]
    invoice_after, payment_after = booked(erpnext)
    assert (invoice_after["status"], invoice_after["outstanding_amount"]) == ("Credit Note Issued", 0)
    assert unchanged(invoice_before, invoice_after)
    assert payment_after == payment_before


async def test_a_partial_refund_returns_one_line_of_the_refunded_amount(
    erpnext: str, handlers: ErpnextHandlers, ctx: RecordingContext
) -> None:
    await deliver_flow(handlers, ctx)
    await handlers.on_refund_succeeded(ev.refund(amount="40000.50", reason=None), ctx)
    (note,), (pay,) = refunds(erpnext)
    assert [(r["qty"], r["rate"], r["amount"]) for r in note["items"]] == [
        (-1, Decimal("40000.5"), Decimal("-40000.5"))
    ]
    assert note["items"][0]["description"] == "Refund rfd_1 of Xendit payment pay_1"
    assert (note["grand_total"], note["status"]) == (Decimal("-40000.5"), "Return")
    assert [r["allocated_amount"] for r in pay["references"]] == [Decimal("-40000.5")]
    invoice, _ = booked(erpnext)
    assert (invoice["status"], invoice["outstanding_amount"]) == ("Credit Note Issued", 0)


async def test_a_redelivered_refund_books_one_credit_note_and_one_pay_entry(
    erpnext: str, handlers: ErpnextHandlers, ctx: RecordingContext
) -> None:
    await deliver_flow(handlers, ctx)
    for doctype in ("Sales Invoice", "Payment Entry"):  # each write lands, its answer is lost
        fault(erpnext, kind="commit_then_fail", method="POST", path=f"/api/resource/{doctype}", count=1)
    await handlers.on_refund_succeeded(ev.refund(), ctx)
    assert fired(erpnext) == [1, 1]
    for _ in range(2):
        await handlers.on_refund_succeeded(ev.refund(), ctx)
    notes, pays = refunds(erpnext)
    assert [(n["custom_xendit_refund_id"], n["docstatus"]) for n in notes] == [("rfd_1", 1)]
    assert [(p["custom_xendit_refund_id"], p["docstatus"]) for p in pays] == [("rfd_1", 1)]


async def test_two_partial_refunds_of_a_multi_unit_line_are_two_credit_notes(
    erpnext: str, handlers: ErpnextHandlers, ctx: RecordingContext
) -> None:
    lines = [{"item_code": "PLAN-PRO", "description": "Pro seats", "quantity": 3, "unit_amount": "50000"}]
    await handlers.on_customer_upserted(ev.customer(), ctx)
    await handlers.on_invoice_issued(ev.invoice(lines=lines), ctx)
    await handlers.on_payment_succeeded(ev.payment(), ctx)
    await handlers.on_refund_succeeded(ev.refund("rfd_1", amount="100000"), ctx)
    await handlers.on_refund_succeeded(ev.refund("rfd_2", amount="30000"), ctx)
    notes, pays = refunds(erpnext)
    rows = sorted((n["custom_xendit_refund_id"], n["items"][0]["qty"], n["items"][0]["rate"]) for n in notes)
    assert rows == [("rfd_1", -2, 50000), ("rfd_2", -1, 30000)]
    assert sorted(p["paid_amount"] for p in pays) == [30000, 100000]


async def test_a_refund_before_its_invoice_or_payment_is_retried(
    erpnext: str, handlers: ErpnextHandlers, ctx: RecordingContext
) -> None:
    await handlers.on_customer_upserted(ev.customer(), ctx)
    with pytest.raises(RetryableError, match="no Sales Invoice for inv_1"):
        await handlers.on_refund_succeeded(ev.refund(), ctx)
    await handlers.on_invoice_issued(ev.invoice(), ctx)
    with pytest.raises(RetryableError, match="no Payment Entry for payment pay_1"):
        await handlers.on_refund_succeeded(ev.refund(), ctx)
    assert refunds(erpnext) == ([], [])
    await handlers.on_payment_succeeded(ev.payment(), ctx)
    await handlers.on_refund_succeeded(ev.refund(), ctx)
    notes, pays = refunds(erpnext)
    assert (len(notes), len(pays)) == (1, 1)


async def test_a_second_partial_refund_of_a_single_unit_line_is_a_standalone_credit_note(
    erpnext: str, handlers: ErpnextHandlers, ctx: RecordingContext
) -> None:
    await deliver_flow(handlers, ctx)
    await handlers.on_refund_succeeded(ev.refund("rfd_1", amount="100000"), ctx)
    await handlers.on_refund_succeeded(ev.refund("rfd_2", amount="50000"), ctx)
    notes, pays = refunds(erpnext)
    invoice, _ = booked(erpnext)
    by_refund = {n["custom_xendit_refund_id"]: n for n in notes}
    assert by_refund["rfd_1"]["return_against"] == invoice["name"]
    assert "return_against" not in by_refund["rfd_2"]  # ERPNext has no unit of the line left to return
    assert f"(Sales Invoice {invoice['name']})" in by_refund["rfd_2"]["remarks"]
    assert [
        (n["grand_total"], n["outstanding_amount"]) for n in (by_refund["rfd_1"], by_refund["rfd_2"])
    ] == [
        (-100000, 0),
        (-50000, 0),
    ]
    assert sorted(p["paid_amount"] for p in pays) == [50000, 100000]
