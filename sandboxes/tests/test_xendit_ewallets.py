"""E-wallet charges in the sandbox: create (202, PENDING), currency per channel, and the
``ewallet.capture`` webhook when the side door completes or fails a charge (ref §6.2)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx

from billing_testing.consumer_harness import wait_until
from billing_testing.webhooks import WebhookReceiver

CHARGE_FIELDS = {
    "id",
    "business_id",
    "reference_id",
    "status",
    "currency",
    "charge_amount",
    "capture_amount",
    "refunded_amount",
    "checkout_method",
    "channel_code",
    "channel_properties",
    "actions",
    "is_redirect_required",
    "callback_url",
    "created",
    "updated",
    "void_status",
    "voided_at",
    "capture_now",
    "customer_id",
    "payment_method_id",
    "failure_code",
    "basket",
    "metadata",
}
REDIRECTS = {"success_redirect_url": "https://x/ok", "failure_redirect_url": "https://x/no"}


async def _charge(client: httpx.AsyncClient, **fields: Any) -> httpx.Response:
    body = {
        "reference_id": "order-1",
        "currency": "IDR",
        "amount": 25000,
        "checkout_method": "ONE_TIME_PAYMENT",
        "channel_code": "ID_DANA",
        "channel_properties": REDIRECTS,
        "metadata": {"lovia_invoice_id": "inv-1"},
        **fields,
    }
    return await client.post("/ewallets/charges", json=body)


async def test_a_charge_is_created_pending_with_checkout_actions(
    xendit: httpx.AsyncClient, xendit_url: str
) -> None:
    created = await _charge(xendit)
    charge = created.json()
    assert created.status_code == 202
    assert set(charge) == CHARGE_FIELDS
    assert charge["id"].startswith("ewc_")
    assert (charge["status"], charge["charge_amount"], charge["is_redirect_required"]) == (
        "PENDING",
        25000,
        True,
    )
    assert charge["actions"]["desktop_web_checkout_url"]
    assert charge["callback_url"].endswith("/webhooks/xendit/ewallet")
    assert (await xendit.get(f"/ewallets/charges/{charge['id']}")).json() == charge
    missing = await xendit.get("/ewallets/charges/ewc_missing")
    assert (missing.status_code, missing.json()["error_code"]) == (404, "DATA_NOT_FOUND")


async def test_channels_check_their_currency_and_properties(xendit: httpx.AsyncClient) -> None:
    gcash_in_idr = await _charge(xendit, channel_code="PH_GCASH")
    gcash = await _charge(xendit, channel_code="PH_GCASH", currency="PHP", amount=150.5)
    ovo_without_phone = await _charge(xendit, channel_code="ID_OVO", channel_properties={})
    ovo = await _charge(xendit, channel_code="ID_OVO", channel_properties={"mobile_number": "+628123123123"})
    assert (gcash_in_idr.status_code, gcash_in_idr.json()["error_code"]) == (400, "UNSUPPORTED_CURRENCY")
    assert gcash.status_code == 202
    assert gcash.json()["charge_amount"] == Decimal("150.5")
    assert (ovo_without_phone.status_code, ovo_without_phone.json()["error_code"]) == (
        400,
        "API_VALIDATION_ERROR",
    )
    assert ovo.json()["is_redirect_required"] is False


async def test_completing_a_charge_sends_ewallet_capture_with_the_charge(
    xendit: httpx.AsyncClient, hooks: WebhookReceiver
) -> None:
    charge = (await _charge(xendit, channel_code="PH_PAYMAYA", currency="PHP", amount=500)).json()
    await xendit.post(f"/_sandbox/ewallets/charges/{charge['id']}/complete", json={"duplicates": 1})
    await wait_until(lambda: len(hooks.at("/ewallet")) == 2, within=5)
    first, copy = (r for r in hooks.at("/ewallet"))
    assert first.headers["webhook-id"] == copy.headers["webhook-id"]
    assert (first.body["event"], set(first.body)) == (
        "ewallet.capture",
        {"event", "business_id", "created", "data"},
    )
    data = first.body["data"]
    assert set(data) == CHARGE_FIELDS
    assert (data["id"], data["status"], data["channel_code"], data["currency"]) == (
        charge["id"],
        "SUCCEEDED",
        "PH_PAYMAYA",
        "PHP",
    )
    assert (data["capture_amount"], data["metadata"]) == (500, {"lovia_invoice_id": "inv-1"})
    again = await xendit.post(f"/_sandbox/ewallets/charges/{charge['id']}/fail")
    assert again.status_code == 400


async def test_a_failed_charge_sends_ewallet_capture_with_failed(
    xendit: httpx.AsyncClient, hooks: WebhookReceiver
) -> None:
    charge = (await _charge(xendit)).json()
    await xendit.post(
        f"/_sandbox/ewallets/charges/{charge['id']}/fail",
        json={"failure_code": "USER_DID_NOT_AUTHORIZE_THE_PAYMENT"},
    )
    await wait_until(lambda: len(hooks.at("/ewallet")) == 1, within=5)
    data = hooks.at("/ewallet")[0].body["data"]
    assert (data["status"], data["failure_code"]) == ("FAILED", "USER_DID_NOT_AUTHORIZE_THE_PAYMENT")
    assert (await xendit.get(f"/ewallets/charges/{charge['id']}")).json()["status"] == "FAILED"
