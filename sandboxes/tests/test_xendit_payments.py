"""Payment Requests v2 and Payment Methods v2 in the sandbox, with PY7's shapes: create, get, list,
idempotency, simulate → ``payment.succeeded``, captures, failure, and payment-method activation."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx

from billing_testing.consumer_harness import wait_until
from billing_testing.webhooks import WebhookReceiver

#: PY7 ``payment_callback_data.py`` (required and optional fields).
PAYMENT_FIELDS = {
    "id",
    "payment_request_id",
    "reference_id",
    "customer_id",
    "amount",
    "currency",
    "country",
    "status",
    "payment_method",
    "channel_properties",
    "payment_detail",
    "failure_code",
    "metadata",
    "created",
    "updated",
}
#: PY7 ``capture.py`` (all required).
CAPTURE_FIELDS = {
    "id",
    "payment_request_id",
    "payment_id",
    "reference_id",
    "currency",
    "authorized_amount",
    "captured_amount",
    "status",
    "payment_method",
    "failure_code",
    "customer_id",
    "metadata",
    "channel_properties",
    "created",
    "updated",
}
EWALLET = {
    "type": "EWALLET",
    "reusability": "ONE_TIME_USE",
    "ewallet": {"channel_code": "SHOPEEPAY", "channel_properties": {"success_return_url": "https://x/ok"}},
}
VA = {
    "type": "VIRTUAL_ACCOUNT",
    "reusability": "ONE_TIME_USE",
    "virtual_account": {"channel_code": "BNI", "channel_properties": {"customer_name": "Ahmad Gunawan"}},
}


async def _request(client: httpx.AsyncClient, key: str | None = None, **fields: Any) -> httpx.Response:
    body = {
        "reference_id": "order-1",
        "amount": 15000,
        "currency": "IDR",
        "customer_id": "cust-1",
        "payment_method": EWALLET,
        "metadata": {"lovia_invoice_id": "inv-1"},
        **fields,
    }
    headers = {"idempotency-key": key} if key else {}
    return await client.post("/payment_requests", json=body, headers=headers)


async def test_created_requests_wait_for_the_customer_or_the_transfer(xendit: httpx.AsyncClient) -> None:
    created = await _request(xendit)
    assert created.status_code == 201
    ewallet = created.json()
    va = (await _request(xendit, reference_id="order-2", payment_method=VA)).json()
    assert ewallet["id"].startswith("pr-")
    assert (ewallet["status"], ewallet["country"], ewallet["currency"]) == ("REQUIRES_ACTION", "ID", "IDR")
    assert len(ewallet["business_id"]) == 24
    assert ewallet["actions"][0]["action"] == "AUTH"
    assert ewallet["payment_method"]["id"].startswith("pm-")
    assert ewallet["payment_method"]["ewallet"]["channel_code"] == "SHOPEEPAY"
    assert ewallet["payment_method"]["virtual_account"] is None
    assert va["status"] == "PENDING"
    assert va["payment_method"]["virtual_account"]["channel_properties"]["virtual_account_number"]
    assert (await xendit.get(f"/payment_requests/{ewallet['id']}")).json() == ewallet


async def test_validation_and_not_found(xendit: httpx.AsyncClient) -> None:
    no_method = await xendit.post("/payment_requests", json={"currency": "IDR", "amount": 100})
    bad_channel = await _request(xendit, payment_method={**EWALLET, "ewallet": {"channel_code": "NOPE"}})
    unknown_method = await _request(xendit, payment_method=None, payment_method_id="pm-missing")
    missing = await xendit.get("/payment_requests/pr-missing")
    assert [r.status_code for r in (no_method, bad_channel)] == [400, 400]
    assert {r.json()["error_code"] for r in (no_method, bad_channel)} == {"API_VALIDATION_ERROR"}
    assert (unknown_method.status_code, unknown_method.json()["error_code"]) == (
        404,
        "PAYMENT_METHOD_NOT_FOUND_ERROR",
    )
    assert (missing.status_code, missing.json()["error_code"]) == (404, "DATA_NOT_FOUND")


async def test_the_same_idempotency_key_gives_the_same_request_and_another_body_409(
    xendit: httpx.AsyncClient,
) -> None:
    first = await _request(xendit, key="idem-1")
    again = await _request(xendit, key="idem-1")
    other = await _request(xendit, key="idem-1", amount=20000)
    fresh = await _request(xendit, key="idem-2")
    assert first.json()["id"] == again.json()["id"]
    assert (other.status_code, other.json()["error_code"]) == (409, "DUPLICATE_ERROR")
    assert fresh.json()["id"] != first.json()["id"]


async def test_list_filters_and_pages_like_xendit(xendit: httpx.AsyncClient) -> None:
    ids = [
        (await _request(xendit, reference_id=f"ref-{n}", customer_id=f"c-{n % 2}")).json()["id"]
        for n in range(3)
    ]
    by_reference = (await xendit.get("/payment_requests", params={"reference_id": "ref-1"})).json()
    by_customer = (await xendit.get("/payment_requests", params={"customer_id": "c-0"})).json()
    first_page = (await xendit.get("/payment_requests", params={"limit": 2})).json()
    rest = (
        await xendit.get("/payment_requests", params={"limit": 2, "after_id": first_page["data"][-1]["id"]})
    ).json()
    assert set(by_reference) == {"data", "has_more", "links"}
    assert [pr["id"] for pr in by_reference["data"]] == [ids[1]]
    assert {pr["id"] for pr in by_customer["data"]} == {ids[0], ids[2]}
    assert (len(first_page["data"]), first_page["has_more"]) == (2, True)
    assert first_page["links"][0]["rel"] == "next"
    assert ([pr["id"] for pr in rest["data"]], rest["has_more"]) == ([ids[0]], False)


async def test_simulate_pays_the_request_records_a_capture_and_sends_payment_succeeded(
    xendit: httpx.AsyncClient, hooks: WebhookReceiver
) -> None:
    request = (await _request(xendit)).json()
    simulated = await xendit.post(f"/payment_requests/{request['id']}/payments/simulate")
    assert simulated.status_code == 200
    assert set(simulated.json()) == {"status", "message"}
    await wait_until(lambda: len(hooks.at("/payment")) == 1, within=5)
    callback = hooks.at("/payment")[0]
    assert callback.headers["x-callback-token"] == "products-callback-token"
    assert set(callback.body) == {"event", "business_id", "created", "api_version", "data"}
    assert callback.body["event"] == "payment.succeeded"
    data = callback.body["data"]
    assert set(data) >= PAYMENT_FIELDS
    assert data["id"].startswith("py-")
    assert (data["payment_request_id"], data["reference_id"], data["customer_id"]) == (
        request["id"],
        "order-1",
        "cust-1",
    )
    assert (data["amount"], data["currency"], data["country"], data["status"]) == (
        Decimal(15000),
        "IDR",
        "ID",
        "SUCCEEDED",
    )
    assert data["metadata"] == {"lovia_invoice_id": "inv-1"}
    assert data["payment_method"]["id"] == request["payment_method"]["id"]
    stored = (await xendit.get(f"/payment_requests/{request['id']}")).json()
    assert stored["status"] == "SUCCEEDED"
    captures = (await xendit.get(f"/payment_requests/{request['id']}/captures")).json()
    [capture] = captures["data"]
    assert set(capture) == CAPTURE_FIELDS
    assert (capture["payment_id"], capture["captured_amount"], capture["status"]) == (
        data["id"],
        15000,
        "SUCCEEDED",
    )
    twice = await xendit.post(f"/payment_requests/{request['id']}/payments/simulate")
    assert (twice.status_code, twice.json()["error_code"]) == (400, "PAYMENT_REQUEST_ALREADY_COMPLETED")


async def test_the_side_door_fails_a_request_with_payment_failed(
    xendit: httpx.AsyncClient, hooks: WebhookReceiver
) -> None:
    request = (await _request(xendit, payment_method=VA)).json()
    failed = await xendit.post(
        f"/_sandbox/payment_requests/{request['id']}/fail", json={"failure_code": "EXPIRED"}
    )
    assert failed.status_code == 200
    await wait_until(lambda: len(hooks.events("payment.failed")) == 1, within=5)
    data = hooks.events("payment.failed")[0].body["data"]
    assert (data["status"], data["failure_code"], data["payment_request_id"]) == (
        "FAILED",
        "EXPIRED",
        request["id"],
    )
    assert (await xendit.get(f"/payment_requests/{request['id']}")).json()["status"] == "FAILED"


async def test_a_linked_payment_method_activates_pays_and_expires(
    xendit: httpx.AsyncClient, hooks: WebhookReceiver
) -> None:
    body = {
        "type": "EWALLET",
        "reusability": "MULTIPLE_USE",
        "customer_id": "cust-9",
        "ewallet": {"channel_code": "OVO", "channel_properties": {"success_return_url": "https://x/ok"}},
        "metadata": {"sku": "plan-basic"},
    }
    created = await xendit.post("/v2/payment_methods", json=body)
    method = created.json()
    assert (created.status_code, method["status"], method["actions"][0]["action"]) == (
        201,
        "REQUIRES_ACTION",
        "AUTH",
    )
    not_yet = await _request(xendit, payment_method=None, payment_method_id=method["id"])
    assert (not_yet.status_code, not_yet.json()["error_code"]) == (400, "INVALID_PAYMENT_METHOD")
    await xendit.post(f"/_sandbox/payment_methods/{method['id']}/activate")
    await wait_until(lambda: len(hooks.at("/payment_method")) == 1, within=5)
    activated = hooks.at("/payment_method")[0].body
    assert (activated["event"], activated["data"]["id"], activated["data"]["status"]) == (
        "payment_method.activated",
        method["id"],
        "ACTIVE",
    )
    assert activated["data"]["customer_id"] == "cust-9"
    request = (await _request(xendit, payment_method=None, payment_method_id=method["id"])).json()
    assert request["status"] == "PENDING"
    await xendit.post(f"/payment_requests/{request['id']}/payments/simulate")
    payments = (await xendit.get(f"/v2/payment_methods/{method['id']}/payments")).json()
    assert [p["payment_request_id"] for p in payments["data"]] == [request["id"]]
    expired = (await xendit.post(f"/v2/payment_methods/{method['id']}/expire")).json()
    assert expired["status"] == "EXPIRED"
    assert (await xendit.get(f"/v2/payment_methods/{method['id']}")).json()["status"] == "EXPIRED"
    assert (await xendit.get("/v2/payment_methods/pm-missing")).status_code == 404


async def test_a_virtual_account_method_is_active_at_once(
    xendit: httpx.AsyncClient, hooks: WebhookReceiver
) -> None:
    method = (await xendit.post("/v2/payment_methods", json={**VA, "reusability": "MULTIPLE_USE"})).json()
    assert method["status"] == "ACTIVE"
    await wait_until(lambda: len(hooks.events("payment_method.activated")) == 1, within=5)
