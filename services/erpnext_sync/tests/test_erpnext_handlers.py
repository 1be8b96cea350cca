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


async def test_an_invoice_before_its_customer_is_retried(
    handlers: ErpnextHandlers, ctx: RecordingContext
) -> None:
    with pytest.raises(RetryableError, match="no Customer for cus_1"):
        await handlers.on_invoice_issued(ev.invoice(), ctx)
    with pytest.raises(RetryableError, match="no Sales Invoice for inv_1"):
        await handlers.on_payment_succeeded(ev.payment(), ctx)


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


def test_build_wires_five_handlers_and_closes_the_client(settings: ErpnextSyncSettings) -> None:
    app = build(settings)
    assert app.integration is Integration.ERPNEXT
    assert set(app.handlers) == {
        EventType.CUSTOMER_UPSERTED,
        EventType.INVOICE_ISSUED,
        EventType.PAYMENT_SUCCEEDED,
        EventType.INVOICE_EXPIRED,
        EventType.SUBSCRIPTION_CANCELLED,
    }
    assert len(app.resources) == 1
    assert isinstance(app.resources[0], ErpnextClient)


def test_the_sandbox_seeds_the_custom_fields_the_client_sets_up() -> None:
    seeded = {(f["dt"], f["fieldname"], bool(f.get("unique"))) for f in SANDBOX_FIELDS}
    assert seeded == {(spec.dt, spec.fieldname, spec.unique) for spec in CUSTOM_FIELDS}
