"""Every Xendit product end to end: create and pay it in the sandbox, let the sandbox send its real
callbacks to the ingest, and find exactly one booking per downstream system with the amount
Xendit's API confirms. Then the same payment reported on every route, three times, shuffled, with
xendit_sync killed in between; and forged callbacks on every route, which book nothing.
"""

from __future__ import annotations

import asyncio
import random
from decimal import Decimal
from typing import Any

import pytest

from billing_testing.e2e import Queues
from billing_testing.shop import Shop
from billing_testing.stack import Stack

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]


def meta(customer: str, invoice: str) -> dict[str, str]:
    return {"lovia_customer_id": customer, "lovia_invoice_id": invoice}


async def test_an_invoice_paid_by_virtual_account_is_booked_once_under_its_payment_id(shop: Shop) -> None:
    _, invoice = await shop.customer_with_invoice(150_000)
    paid = await shop.sandbox_post(f"/_sandbox/invoices/{shop.xendit_id(invoice)}/pay", {"channel": "BNI"})
    payment_id = paid["invoice"]["payment_id"]
    await shop.assert_booked_once(payment_id, Decimal(150_000), invoice)


async def test_an_underpaid_invoice_books_what_was_paid(shop: Shop) -> None:
    customer, invoice = await shop.customer_with_invoice(200_000)
    paid = await shop.sandbox_post(
        f"/_sandbox/invoices/{shop.xendit_id(invoice)}/pay", {"channel": "BCA", "amount": 120_000}
    )
    await shop.assert_booked_once(paid["invoice"]["payment_id"], Decimal(120_000), invoice)
    sales = shop.erpnext("Sales Invoice", custom_lovia_invoice_id=invoice)
    assert [s["status"] for s in sales] == ["Partly Paid"]
    contact = await shop.wait_for(lambda: shop.mautic_contact(customer, tag="billing-partially-paid"))
    assert "billing-paid" not in {t["tag"] for t in contact["tags"]}


async def test_a_payment_request_is_booked_from_its_capture(shop: Shop) -> None:
    customer, invoice = await shop.customer_with_invoice(99_000)
    request = await shop.xendit_api(
        "POST",
        "/payment_requests",
        {
            "reference_id": invoice,
            "amount": 99000,
            "currency": "IDR",
            "country": "ID",
            "payment_method": {
                "type": "EWALLET",
                "reusability": "ONE_TIME_USE",
                "ewallet": {"channel_code": "OVO"},
            },
            "metadata": meta(customer, invoice),
        },
    )
    await shop.xendit_api("POST", f"/payment_requests/{request['id']}/payments/simulate", {"amount": 99000})
    captures = await shop.xendit_api("GET", f"/payment_requests/{request['id']}/captures")
    (capture,) = captures["data"]
    await shop.assert_booked_once(capture["payment_id"], Decimal(99_000), invoice)


async def test_an_ewallet_charge_is_booked_once(shop: Shop) -> None:
    customer, invoice = await shop.customer_with_invoice(75_000)
    charge = await shop.xendit_api(
        "POST",
        "/ewallets/charges",
        {
            "reference_id": invoice,
            "currency": "IDR",
            "amount": 75000,
            "checkout_method": "ONE_TIME_PAYMENT",
            "channel_code": "ID_DANA",
            "channel_properties": {"success_redirect_url": "https://lovia.example/done"},
            "metadata": meta(customer, invoice),
        },
    )
    await shop.sandbox_post(f"/_sandbox/ewallets/charges/{charge['id']}/complete", {})
    await shop.assert_booked_once(charge["id"], Decimal(75_000), invoice)


async def test_a_fixed_va_payment_is_booked_to_the_invoice_its_va_names(shop: Shop) -> None:
    _, invoice = await shop.customer_with_invoice(150_000)
    va = await shop.xendit_api(
        "POST",
        "/callback_virtual_accounts",
        {
            "external_id": invoice,
            "bank_code": "BRI",
            "name": "Budi",
            "expected_amount": 150000,
            "is_closed": True,
        },
    )
    await shop.xendit_api(
        "POST", f"/callback_virtual_accounts/external_id={invoice}/simulate_payment", {"amount": 150000}
    )
    payment = next(
        c for c in await shop.callbacks("/fva") if c["body"]["callback_virtual_account_id"] == va["id"]
    )
    await shop.assert_booked_once(payment["body"]["payment_id"], Decimal(150_000), invoice)


async def recurring_payment(shop: Shop, amount: int) -> tuple[str, str, str]:
    """A plan naming one of our invoices, its first cycle charged: (invoice, cycle id, py- id)."""
    customer, invoice = await shop.customer_with_invoice(amount)
    plan = await shop.xendit_api(
        "POST",
        "/recurring/plans",
        {
            "reference_id": f"sub_{customer}",
            "customer_id": f"cust-{customer}",
            "recurring_action": "PAYMENT",
            "currency": "IDR",
            "amount": amount,
            "schedule": {"interval": "MONTH", "interval_count": 1},
            "immediate_action_type": "FULL_AMOUNT",
            "metadata": meta(customer, invoice),
            "description": "Lovia Pro",
        },
    )
    cycles = await shop.xendit_api("GET", f"/recurring/plans/{plan['id']}/cycles")
    cycle = cycles["data"][-1]
    await shop.xendit_api(
        "POST", f"/recurring/plans/{plan['id']}/cycles/{cycle['id']}/simulate", {"amount": amount}
    )
    charged = await shop.xendit_api("GET", f"/recurring/plans/{plan['id']}/cycles/{cycle['id']}")
    payment_id = next(a["payment_id"] for a in charged["attempt_details"] if a["status"] == "SUCCEEDED")
    return invoice, cycle["id"], payment_id


async def test_a_recurring_cycle_and_its_payment_are_one_booking(shop: Shop) -> None:
    invoice, _, payment_id = await recurring_payment(shop, 99_000)
    await shop.assert_booked_once(payment_id, Decimal(99_000), invoice)


async def test_one_payment_on_every_route_three_times_shuffled_with_crashes_is_booked_once(
    shop: Shop, e2e_stack: Stack
) -> None:
    invoice, cycle_id, payment_id = await recurring_payment(shop, 125_000)
    await shop.assert_booked_once(payment_id, Decimal(125_000), invoice)
    reports = [c["body"] for c in await shop.callbacks("/recurring") if c["body"]["data"]["id"] == cycle_id]
    reports += [c["body"] for c in await shop.callbacks("/payment") if c["body"]["data"]["id"] == payment_id]
    assert {r["event"] for r in reports} >= {"recurring.cycle.succeeded", "payment.succeeded"}
    copies = [
        (route, body)
        for body in reports
        for route in ("payment", "recurring", "ewallet", "refund")
        for _ in range(3)
    ]
    random.Random(20261130).shuffle(copies)
    for index, (route, body) in enumerate(copies):
        response = await shop.callback(route, body)
        assert response.status_code == 200, response.text
        if index in (len(copies) // 3, 2 * len(copies) // 3):
            await asyncio.to_thread(e2e_stack.kill, "xendit-sync")
            await asyncio.to_thread(e2e_stack.start_component, "xendit-sync")
    await shop.settle(dead_ok=True)
    await shop.assert_booked_once(payment_id, Decimal(125_000), invoice)


async def test_a_partial_refund_is_booked_after_its_payment(shop: Shop) -> None:
    customer, invoice = await shop.customer_with_invoice(150_000)
    paid = await shop.sandbox_post(f"/_sandbox/invoices/{shop.xendit_id(invoice)}/pay", {"channel": "OVO"})
    payment_id = paid["invoice"]["payment_id"]
    refund = await shop.xendit_api(
        "POST",
        "/refunds",
        {"invoice_id": shop.xendit_id(invoice), "amount": 50000, "reason": "REQUESTED_BY_CUSTOMER"},
    )
    await shop.assert_booked_once(payment_id, Decimal(150_000), invoice)
    await shop.wait_for(lambda: shop.erpnext("Payment Entry", custom_xendit_refund_id=refund["id"]))
    await shop.settle(dead_ok=True)
    (pay_out,) = shop.erpnext("Payment Entry", custom_xendit_refund_id=refund["id"])
    assert (pay_out["payment_type"], Decimal(str(pay_out["paid_amount"]))) == ("Pay", Decimal(50_000))
    (credit_note,) = shop.erpnext("Sales Invoice", custom_xendit_refund_id=refund["id"])
    assert credit_note["is_return"] == 1
    refunds = [t for t in shop.cm_transactions(invoice) if t["type"] == "refund"]
    assert [(t["external_id"], t["amount_in_cents"]) for t in refunds] == [(refund["id"], 5_000_000)]
    # A partial refund of a paid invoice leaves it paid (docs/mautic.md): nothing is owed.
    assert await shop.wait_for(lambda: shop.mautic_contact(customer, tag="billing-paid"))


@pytest.mark.parametrize(
    "route",
    ["invoice", "payment", "recurring", "fva", "ewallet", "refund"],
)
async def test_a_forged_callback_with_a_valid_token_books_nothing_and_says_why(
    shop: Shop, route: str
) -> None:
    customer, invoice = await shop.customer_with_invoice(150_000)
    now = "2026-11-30T01:02:03.000Z"
    body: dict[str, Any]
    if route == "invoice":
        body = {
            "id": "65f0000000000000000forge",
            "external_id": invoice,
            "user_id": "x",
            "status": "PAID",
            "merchant_name": "x",
            "amount": 150000,
            "paid_amount": 150000,
            "currency": "IDR",
            "payment_id": "forged-pay",
            "created": now,
            "updated": now,
        }
    elif route == "fva":
        body = {
            "id": "f",
            "payment_id": "forged-fva",
            "callback_virtual_account_id": "forged-va",
            "owner_id": "x",
            "external_id": invoice,
            "account_number": "1",
            "bank_code": "BCA",
            "amount": 150000,
            "transaction_timestamp": now,
        }
    else:
        event, data = {
            "payment": ("payment.succeeded", {"id": "py-forged", "payment_request_id": "pr-forged"}),
            "recurring": ("recurring.cycle.succeeded", {"id": "recy-forged", "plan_id": "repl-forged"}),
            "ewallet": ("ewallet.capture", {"id": "ewc_forged", "capture_amount": 150000}),
            "refund": ("refund.succeeded", {"id": "rfd-forged", "invoice_id": shop.xendit_id(invoice)}),
        }[route]
        body = {
            "event": event,
            "business_id": "x",
            "created": now,
            "data": {
                "status": "SUCCEEDED",
                "amount": 150000,
                "currency": "IDR",
                "metadata": meta(customer, invoice),
            }
            | data,
        }
    response = await shop.callback(route, body)
    assert response.status_code == 200, response.text
    event_id = response.json()["event_id"]
    entry = await shop.wait_for(lambda: shop.ledger_status(event_id, "xendit", "dead"))
    assert "nothing booked" in (entry["integrations"]["xendit"]["last_error"] or "")
    await shop.settle(dead_ok=True)
    assert shop.erpnext("Payment Entry", party=shop.erpnext_customer(customer)) == []
    assert [t for t in shop.cm_transactions(invoice) if t["result"] == "successful"] == []
    assert Queues(shop.stack).busy().get("xendit-dlq")


async def test_an_invoice_sent_before_its_customer_is_booked_and_the_customer_completed(shop: Shop) -> None:
    """Regression (issue 13.2): invoice.issued used to sit ahead of customer.upserted in the
    customer's group, retry "no Customer yet" until it dead-lettered, and the payment after it too."""
    customer, invoice = await shop.invoice_then_customer(150_000, customer_after=0.5)
    paid = await shop.sandbox_post(f"/_sandbox/invoices/{shop.xendit_id(invoice)}/pay", {"channel": "BCA"})
    await shop.assert_booked_once(paid["invoice"]["payment_id"], Decimal(150_000), invoice)
    await shop.wait_for(
        lambda: shop.erpnext("Customer", custom_lovia_customer_id=customer, customer_name="Budi")
    )
    assert {k: v for k, v in Queues(shop.stack).busy().items() if not k.endswith("-dlq")} == {}
    contact = await shop.wait_for(lambda: shop.mautic_contact(customer, tag="billing-paid"))
    assert "billing-open-invoice" not in {t["tag"] for t in contact["tags"]}
