"""Refunds in the sandbox: of a paid invoice or a succeeded payment request, partial and full,
over-refunds and unpaid objects refused, idempotency, ``refund.succeeded`` / ``refund.failed``."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx

from billing_testing.consumer_harness import wait_until
from billing_testing.webhooks import WebhookReceiver

#: PY7 ``refund.py`` plus ``refund_callback_data.py``.
REFUND_FIELDS = {
    "id",
    "payment_request_id",
    "invoice_id",
    "payment_id",
    "amount",
    "payment_method_type",
    "channel_code",
    "currency",
    "country",
    "status",
    "reason",
    "reference_id",
    "failure_code",
    "refund_fee_amount",
    "created",
    "updated",
    "metadata",
}


async def _paid_invoice(client: httpx.AsyncClient, channel: str = "OVO") -> dict[str, Any]:
    invoice = (await client.post("/v2/invoices", json={"external_id": "inv-1", "amount": 100000})).json()
    paid = await client.post(f"/_sandbox/invoices/{invoice['id']}/pay", json={"channel": channel})
    return dict(paid.json()["invoice"])


async def _refund(client: httpx.AsyncClient, key: str | None = None, **fields: Any) -> httpx.Response:
    headers = {"idempotency-key": key} if key else {}
    body = {"reason": "REQUESTED_BY_CUSTOMER", **fields}
    return await client.post("/refunds", json=body, headers=headers)


async def test_partial_refunds_up_to_the_paid_amount_then_400(
    xendit: httpx.AsyncClient, hooks: WebhookReceiver
) -> None:
    invoice = await _paid_invoice(xendit)
    first = await _refund(
        xendit, invoice_id=invoice["id"], amount=30000, reference_id="rf-1", metadata={"k": "v"}
    )
    assert first.status_code == 201
    refund = first.json()
    assert set(refund) == REFUND_FIELDS
    assert refund["id"].startswith("rfd-")
    assert (refund["invoice_id"], refund["payment_id"], refund["amount"]) == (
        invoice["id"],
        invoice["payment_id"],
        30000,
    )
    assert (refund["payment_method_type"], refund["channel_code"], refund["currency"]) == (
        "EWALLET",
        "OVO",
        "IDR",
    )
    assert refund["status"] == "PENDING"  # as answered; it turns SUCCEEDED right after
    over = await _refund(xendit, invoice_id=invoice["id"], amount=70001)
    assert (over.status_code, over.json()["error_code"]) == (400, "MAXIMUM_REFUND_AMOUNT_REACHED")
    rest = (await _refund(xendit, invoice_id=invoice["id"])).json()  # no amount: all that remains
    assert rest["amount"] == Decimal(70000)
    nothing_left = await _refund(xendit, invoice_id=invoice["id"], amount=1)
    assert nothing_left.status_code == 400
    assert (await xendit.get(f"/refunds/{refund['id']}")).json()["status"] == "SUCCEEDED"
    await wait_until(lambda: len(hooks.events("refund.succeeded")) == 2, within=5)
    callback = hooks.events("refund.succeeded")[0]
    assert callback.path.endswith("/refund")
    data = callback.body["data"]
    assert (data["id"], data["status"], data["payment_id"], data["reason"]) == (
        refund["id"],
        "SUCCEEDED",
        invoice["payment_id"],
        "REQUESTED_BY_CUSTOMER",
    )
    listed = (await xendit.get("/refunds", params={"invoice_id": invoice["id"]})).json()
    assert {r["id"] for r in listed["data"]} == {refund["id"], rest["id"]}


async def test_unpaid_objects_and_bad_bodies_are_refused(xendit: httpx.AsyncClient) -> None:
    unpaid = (await xendit.post("/v2/invoices", json={"external_id": "inv-2", "amount": 5000})).json()
    not_paid = await _refund(xendit, invoice_id=unpaid["id"])
    neither = await _refund(xendit)
    no_reason = await xendit.post("/refunds", json={"invoice_id": unpaid["id"]})
    missing = await _refund(xendit, payment_request_id="pr-missing")
    assert (not_paid.status_code, not_paid.json()["error_code"]) == (400, "INELIGIBLE_TRANSACTION")
    assert (neither.status_code, neither.json()["error_code"]) == (400, "API_VALIDATION_ERROR")
    assert no_reason.status_code == 400
    assert (missing.status_code, missing.json()["error_code"]) == (404, "DATA_NOT_FOUND")
    assert (await xendit.get("/refunds/rfd-missing")).status_code == 404


async def test_a_payment_request_refund_names_its_py_payment_and_is_idempotent(
    xendit: httpx.AsyncClient,
) -> None:
    method = {
        "type": "EWALLET",
        "reusability": "ONE_TIME_USE",
        "ewallet": {"channel_code": "GCASH", "channel_properties": {"success_return_url": "https://x/ok"}},
    }
    request = (
        await xendit.post(
            "/payment_requests",
            json={"reference_id": "o-1", "amount": 1500, "currency": "PHP", "payment_method": method},
        )
    ).json()
    unpaid = await _refund(xendit, payment_request_id=request["id"])
    await xendit.post(f"/payment_requests/{request['id']}/payments/simulate")
    [payment] = (await xendit.get("/_sandbox/state")).json()["payments"]
    first = (await _refund(xendit, key="rf-key", payment_request_id=request["id"], amount=500)).json()
    again = (await _refund(xendit, key="rf-key", payment_request_id=request["id"], amount=500)).json()
    clash = await _refund(xendit, key="rf-key", payment_request_id=request["id"], amount=600)
    assert unpaid.json()["error_code"] == "INELIGIBLE_TRANSACTION"
    assert (first["payment_request_id"], first["payment_id"], first["country"]) == (
        request["id"],
        payment["id"],
        "PH",
    )
    assert (first["channel_code"], first["payment_method_type"]) == ("GCASH", "EWALLET")
    assert again["id"] == first["id"]
    assert (clash.status_code, clash.json()["error_code"]) == (409, "DUPLICATE_ERROR")
    listed = (await xendit.get("/refunds", params={"payment_request_id": request["id"]})).json()
    assert [r["id"] for r in listed["data"]] == [first["id"]]


async def test_held_refunds_stay_pending_until_the_side_door_fails_one(
    xendit: httpx.AsyncClient, hooks: WebhookReceiver
) -> None:
    await xendit.post("/_sandbox/config", json={"hold_refunds": True})
    invoice = await _paid_invoice(xendit, channel="CREDIT_CARD")
    refund = (await _refund(xendit, invoice_id=invoice["id"], amount=40000)).json()
    assert (await xendit.get(f"/refunds/{refund['id']}")).json()["status"] == "PENDING"
    await xendit.post(f"/_sandbox/refunds/{refund['id']}/fail", json={"failure_code": "INSUFFICIENT_BALANCE"})
    await wait_until(lambda: len(hooks.events("refund.failed")) == 1, within=5)
    data = hooks.events("refund.failed")[0].body["data"]
    assert (data["status"], data["failure_code"]) == ("FAILED", "INSUFFICIENT_BALANCE")
    whole = (await _refund(xendit, invoice_id=invoice["id"])).json()  # a failed refund gives its amount back
    assert whole["amount"] == Decimal(100000)
    await xendit.post(f"/_sandbox/refunds/{whole['id']}/succeed")
    await wait_until(lambda: len(hooks.events("refund.succeeded")) == 1, within=5)
    assert hooks.events("refund.succeeded")[0].body["data"]["payment_method_type"] == "CARD"
