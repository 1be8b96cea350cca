"""``billing reconcile`` against the whole stack over HTTP: a missed callback is found and repaired to
exactly one booking, also when the repair runs twice while the real callback arrives late; what a
person changed by hand is reported and left alone; a clean window exits 0; fifty paid invoices are
read within a tight Xendit rate limit without a single 429.

Each test checks its own window (``--since`` = the test's start): Xendit is read over the whole day,
so the other tests' records are known (never called extra) but not checked.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from billing_cli.local_stack import (
    LOCAL_API_KEY,
    LOCAL_CHARTMOGUL_KEY,
    LOCAL_ERPNEXT_KEY,
    LOCAL_ERPNEXT_SECRET,
)
from billing_testing.reconcile import Run
from billing_testing.shop import Shop
from lovia_billing import derive_event_id

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]
Reconcile = Callable[..., Run]
REPAIRABLE_PAYMENT = [
    ("missing_in_chartmogul", "chartmogul", "payment transaction", "repair"),
    ("missing_in_erpnext", "erpnext", "Payment Entry", "repair"),
    ("missing_in_mautic", "mautic", "billing fact (paid)", "repair"),
]


async def pay_without_callback(shop: Shop, invoice: str, **pay: Any) -> str:
    """Pay the invoice at Xendit while the sandbox sends no callbacks (a callback that never came)."""
    await shop.sandbox_post("/_sandbox/config", {"callbacks_enabled": False})
    try:
        paid = await shop.sandbox_post(
            f"/_sandbox/invoices/{shop.xendit_id(invoice)}/pay", {"channel": "BCA", **pay}
        )
    finally:
        await shop.sandbox_post("/_sandbox/config", {"callbacks_enabled": True})
    return str(paid["invoice"]["payment_id"])


def entries(shop: Shop, payment_id: str) -> list[dict[str, Any]]:
    return shop.erpnext("Payment Entry", custom_xendit_payment_id=payment_id)


async def test_a_clean_window_agrees_and_exits_0(shop: Shop, reconcile: Reconcile, since: str) -> None:
    for amount in (100_000, 250_000):
        _, invoice = await shop.customer_with_invoice(amount)
        paid = await shop.sandbox_post(
            f"/_sandbox/invoices/{shop.xendit_id(invoice)}/pay", {"channel": "OVO"}
        )
        await shop.assert_booked_once(paid["invoice"]["payment_id"], Decimal(amount), invoice)

    run = reconcile("--since", since)

    assert run.exit_code == 0, run.report["differences"]
    assert run.report["agree"] is True
    assert run.report["xendit"]["payments"] == 2
    assert run.report["summary"]["differences"] == 0
    reports = [Path(p) for p in run.report["reports"]]
    assert [p.suffix for p in reports] == [".json", ".md", ".html"]
    assert all(p.exists() for p in reports)
    assert "agree" in reports[1].read_text()


async def test_a_missed_callback_is_reported_then_repaired_to_exactly_one_payment_entry(
    shop: Shop, reconcile: Reconcile, since: str
) -> None:
    _, invoice = await shop.customer_with_invoice(150_000)
    payment_id = await pay_without_callback(shop, invoice)
    await shop.settle()

    found = reconcile("--since", since)

    assert found.exit_code == 1
    assert found.kinds() == REPAIRABLE_PAYMENT
    xendit_id = shop.xendit_id(invoice)
    for difference in found.about(payment_id):
        assert difference["event"] == {
            "type": "payment.succeeded",
            "id": derive_event_id("payment.succeeded", payment_id),
        }
        assert difference["repair_event"] == {
            "type": "xendit.invoice.paid",
            "id": derive_event_id("xendit.invoice.paid", xendit_id, "PAID"),
        }
        assert difference["xendit"]["amount"] == "150000 IDR"
        assert difference["found"] is None
        assert difference["outcome"] == "planned"
    await asyncio.sleep(2)
    assert entries(shop, payment_id) == []  # a report writes nothing

    repaired = reconcile("--since", since, "--repair")

    assert repaired.exit_code == 1  # drift was found (and repaired)
    assert {d["outcome"] for d in repaired.report["differences"]} == {"published"}
    assert repaired.report["summary"]["repair_events_published"] == 1  # one event for three systems
    await shop.assert_booked_once(payment_id, Decimal(150_000), invoice)
    again = reconcile("--since", since)
    assert again.exit_code == 0, again.report["differences"]


async def test_repairs_run_twice_while_the_late_callback_arrives_book_once(
    shop: Shop, reconcile: Reconcile, since: str
) -> None:
    _, invoice = await shop.customer_with_invoice(120_000)
    payment_id = await pay_without_callback(shop, invoice)
    (missed,) = [c for c in await shop.callbacks("/invoice") if c["object_id"] == shop.xendit_id(invoice)]
    assert missed["state"] == "not_sent"
    await shop.settle()
    callback_event = derive_event_id("xendit.invoice.paid", shop.xendit_id(invoice), "PAID")
    loop = asyncio.get_running_loop()

    # Two repairs at once; the moment one has published the callback event, Xendit resends the real
    # callback: it reaches the ingest while the repair's copy is queued or being confirmed.
    runs = asyncio.gather(
        loop.run_in_executor(None, reconcile, "--since", since, "--repair"),
        loop.run_in_executor(None, reconcile, "--since", since, "--repair"),
    )
    await shop.wait_for(lambda: event_in_ledger(shop, callback_event), within=120)
    await shop.sandbox_post(f"/_sandbox/callbacks/{missed['id']}/resend", {})
    first, second = await runs

    differences = [d for run in (first, second) for d in run.report["differences"]]
    said = [
        (d["action"], d["kind"], d["integration"], d["reason"], d["xendit"], d["found"]) for d in differences
    ]
    assert {d["action"] for d in differences} <= {"repair", "in_flight"}, said
    assert "published" in {d["outcome"] for d in differences}
    await shop.assert_booked_once(payment_id, Decimal(120_000), invoice)
    resent = [c for c in await shop.callbacks("/invoice") if c.get("resend_of") == missed["id"]]
    assert [c["state"] for c in resent] == ["delivered"]
    after = reconcile("--since", since, "--repair")
    assert after.exit_code == 0, after.report["differences"]


async def event_in_ledger(shop: Shop, event_id: str) -> bool:
    response = await shop.http.get(
        shop.stack.url("ingest") + f"/v1/events/{event_id}",
        headers={"Authorization": f"Bearer {LOCAL_API_KEY}"},
    )
    return response.status_code == 200


async def test_a_payment_entry_cancelled_by_hand_is_reported_and_not_touched(
    shop: Shop, reconcile: Reconcile, since: str
) -> None:
    _, invoice = await shop.customer_with_invoice(90_000)
    paid = await shop.sandbox_post(f"/_sandbox/invoices/{shop.xendit_id(invoice)}/pay", {"channel": "BNI"})
    payment_id = paid["invoice"]["payment_id"]
    await shop.assert_booked_once(payment_id, Decimal(90_000), invoice)
    (entry,) = entries(shop, payment_id)
    cancelled = await shop.http.post(
        shop.stack.url("erpnext-sandbox") + "/api/method/frappe.client.cancel",
        headers={"Authorization": f"token {LOCAL_ERPNEXT_KEY}:{LOCAL_ERPNEXT_SECRET}"},
        json={"doctype": "Payment Entry", "name": entry["name"]},
    )
    assert cancelled.status_code == 200, cancelled.text

    run = reconcile("--since", since, "--repair")

    assert run.exit_code == 1
    assert run.kinds() == [("cancelled_in_erpnext", "erpnext", "Payment Entry", "person")]
    (difference,) = run.report["differences"]
    assert difference["found"]["docstatus"] == "2"
    assert difference["outcome"] is None
    assert run.report["summary"]["repair_events_published"] == 0
    await shop.settle()
    assert [(e["name"], e["docstatus"]) for e in entries(shop, payment_id)] == [(entry["name"], 2)]


async def test_a_chartmogul_amount_that_differs_is_reported_and_not_touched(
    shop: Shop, reconcile: Reconcile, since: str
) -> None:
    _, invoice = await shop.customer_with_invoice(200_000)
    payment_id = await pay_without_callback(shop, invoice)
    await shop.settle()
    (cm_invoice,) = [i for i in shop.cm_state()["invoices"] if i["external_id"] == invoice]
    by_hand = await shop.http.post(
        shop.stack.url("chartmogul-sandbox") + f"/v1/import/invoices/{cm_invoice['uuid']}/transactions",
        auth=(LOCAL_CHARTMOGUL_KEY, ""),
        json={
            "type": "payment",
            "result": "successful",
            "date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "external_id": payment_id,
            "amount_in_cents": 18_000_000,
        },
    )
    assert by_hand.status_code == 201, by_hand.text

    run = reconcile("--since", since, "--repair")

    assert run.kinds() == [
        ("amount_differs", "chartmogul", "payment transaction", "person"),
        ("missing_in_erpnext", "erpnext", "Payment Entry", "repair"),
        ("missing_in_mautic", "mautic", "billing fact (paid)", "repair"),
    ]
    (differs,) = [d for d in run.report["differences"] if d["kind"] == "amount_differs"]
    assert differs["xendit"]["amount_in_cents"] == "20000000"
    assert differs["found"]["amount_in_cents"] == "18000000"
    await shop.wait_for(lambda: entries(shop, payment_id))
    await shop.settle()
    assert len(entries(shop, payment_id)) == 1
    mine = [t for t in shop.cm_transactions(invoice) if t["external_id"] == payment_id]
    assert [t["amount_in_cents"] for t in mine] == [18_000_000]  # as the person left it
    again = reconcile("--since", since)
    assert again.kinds() == [("amount_differs", "chartmogul", "payment transaction", "person")]


async def test_fifty_paid_invoices_are_read_within_a_tight_rate_limit(
    shop: Shop, reconcile: Reconcile, since: str
) -> None:
    count, page_size, limit, window_seconds = 50, 5, 4, 2
    await shop.sandbox_post("/_sandbox/config", {"callbacks_enabled": False})
    try:
        for n in range(count):
            created = await shop.xendit_api(
                "POST",
                "/v2/invoices",
                {
                    "external_id": f"inv_{shop.prefix}_bulk{n}",
                    "amount": 10_000 + n,
                    "currency": "IDR",
                    "metadata": {
                        "lovia_customer_id": f"cus_{shop.prefix}_bulk{n}",
                        "lovia_invoice_id": f"inv_{shop.prefix}_bulk{n}",
                    },
                },
            )
            await shop.sandbox_post(f"/_sandbox/invoices/{created['id']}/pay", {"channel": "BRI"})
    finally:
        await shop.sandbox_post("/_sandbox/config", {"callbacks_enabled": True})
    state = (await shop.http.get(shop.stack.url("xendit-sandbox") + "/_sandbox/state")).json()
    paid_today = sum(1 for i in state["invoices"] if i.get("paid_at"))
    await shop.sandbox_post(
        "/_sandbox/config", {"rate_limit": limit, "rate_limit_window_seconds": window_seconds}
    )
    try:
        run = reconcile("--since", since, "--integration", "erpnext", RECONCILE_PAGE_SIZE=str(page_size))
    finally:
        await shop.sandbox_post("/_sandbox/config", {"rate_limit": 6000, "rate_limit_window_seconds": 60})

    assert run.exit_code == 1
    assert run.report["xendit"]["payments"] == count
    missing = [d for d in run.report["differences"] if d["record"] == "Payment Entry"]
    assert len(missing) == count
    assert {d["action"] for d in missing} == {"repair"}
    # The Sales Invoices are missing too: these invoices were made at Xendit, never requested by us,
    # so no invoice.issued exists to repair: a person's.
    assert {d["action"] for d in run.report["differences"] if d["record"] == "Sales Invoice"} == {"person"}
    limits = run.report["xendit_rate_limit"]
    assert limits["throttled"] == 0, limits  # never met a 429: waited for Rate-Limit-Reset instead
    pages = math.ceil(paid_today / page_size) + 1
    assert limits["by_endpoint"]["GET /v2/invoices"] <= pages + 2  # paid pages, expired page, slack
    assert limits["waited_seconds"] > 0
    assert run.seconds >= (pages // limit - 1) * window_seconds
    figures = run.report["requests"]
    assert figures["records"] == count
    assert figures["by_system"]["erpnext"] <= 6  # batched: 100 ids a request
    assert figures["per_record"] < 1
