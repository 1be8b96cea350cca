"""Fixed virtual accounts: create/get, the test-mode payment and its flat ``fva_paid`` callback
(ref §7), the payment lookup, closed accounts, and an invoice bound to a fixed VA."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx

from billing_testing.consumer_harness import wait_until
from billing_testing.webhooks import WebhookReceiver

FVA_PAID_FIELDS = {
    "id",
    "payment_id",
    "callback_virtual_account_id",
    "owner_id",
    "external_id",
    "account_number",
    "bank_code",
    "amount",
    "transaction_timestamp",
    "merchant_code",
    "currency",
    "created",
    "updated",
}


async def _va(client: httpx.AsyncClient, **fields: Any) -> dict[str, Any]:
    body = {"external_id": "va-cus-1", "bank_code": "BNI", "name": "Budi Santoso", **fields}
    response = await client.post("/callback_virtual_accounts", json=body)
    assert response.status_code == 200, response.text
    return dict(response.json())


async def test_created_va_is_readable_and_unknown_ids_are_404(xendit: httpx.AsyncClient) -> None:
    va = await _va(xendit, expected_amount=250000, is_closed=True)
    assert va["account_number"].startswith(va["merchant_code"])
    assert (va["bank_code"], va["status"], va["is_closed"], va["currency"]) == ("BNI", "ACTIVE", True, "IDR")
    assert (await xendit.get(f"/callback_virtual_accounts/{va['id']}")).json() == va
    missing = await xendit.get("/callback_virtual_accounts/0123456789abcdef01234567")
    assert missing.status_code == 404
    assert missing.json()["error_code"] == "CALLBACK_VIRTUAL_ACCOUNT_NOT_FOUND_ERROR"
    bad = await xendit.post(
        "/callback_virtual_accounts", json={"external_id": "x", "bank_code": "NOPE", "name": "A"}
    )
    assert (bad.status_code, bad.json()["error_code"]) == (400, "API_VALIDATION_ERROR")


async def test_a_payment_sends_the_flat_fva_paid_body_which_the_lookup_returns(
    xendit: httpx.AsyncClient, hooks: WebhookReceiver
) -> None:
    va = await _va(xendit)
    simulated = await xendit.post(
        "/callback_virtual_accounts/external_id=va-cus-1/simulate_payment", json={"amount": 125000}
    )
    assert simulated.status_code == 200
    assert simulated.json()["status"] == "COMPLETED"
    await wait_until(lambda: len(hooks.at("/fva")) == 1, within=5)
    body = hooks.at("/fva")[0].body
    assert set(body) == FVA_PAID_FIELDS  # flat, no status, no envelope
    assert (body["callback_virtual_account_id"], body["external_id"]) == (va["id"], "va-cus-1")
    assert (body["account_number"], body["bank_code"], body["amount"]) == (
        va["account_number"],
        "BNI",
        125000,
    )
    assert body["payment_id"].isdigit()
    looked_up = await xendit.get(f"/callback_virtual_account_payments/payment_id={body['payment_id']}")
    assert looked_up.json() == body
    missing = await xendit.get("/callback_virtual_account_payments/payment_id=999")
    assert (missing.status_code, missing.json()["error_code"]) == (404, "PAYMENT_NOT_FOUND_ERROR")


async def test_a_closed_va_refuses_another_amount_and_a_single_use_one_a_second_payment(
    xendit: httpx.AsyncClient,
) -> None:
    await _va(xendit, external_id="closed", expected_amount=250000, is_closed=True, is_single_use=True)
    wrong = await xendit.post(
        "/callback_virtual_accounts/external_id=closed/simulate_payment", json={"amount": 1}
    )
    right = await xendit.post(
        "/callback_virtual_accounts/external_id=closed/simulate_payment", json={"amount": 250000}
    )
    again = await xendit.post(
        "/callback_virtual_accounts/external_id=closed/simulate_payment", json={"amount": 250000}
    )
    unknown = await xendit.post(
        "/callback_virtual_accounts/external_id=nope/simulate_payment", json={"amount": 1}
    )
    assert (wrong.status_code, wrong.json()["error_code"]) == (400, "API_VALIDATION_ERROR")
    assert "expected_amount" in wrong.json()["message"]
    assert right.status_code == 200
    assert (again.status_code, again.json()["error_code"]) == (400, "INACTIVE_VIRTUAL_ACCOUNT_ERROR")
    assert (unknown.status_code, unknown.json()["error_code"]) == (
        404,
        "CALLBACK_VIRTUAL_ACCOUNT_NOT_FOUND_ERROR",
    )


async def test_an_invoice_bound_to_a_fixed_va_is_paid_with_the_same_payment_id_on_both_callbacks(
    xendit: httpx.AsyncClient, hooks: WebhookReceiver
) -> None:
    va = await _va(xendit)
    created = await xendit.post(
        "/v2/invoices",
        json={"external_id": "inv-7", "amount": 99000, "callback_virtual_account_id": va["id"]},
    )
    invoice = created.json()
    assert [(b["bank_code"], b["bank_account_number"]) for b in invoice["available_banks"]] == [
        ("BNI", va["account_number"])
    ]
    await xendit.post(
        "/callback_virtual_accounts/external_id=va-cus-1/simulate_payment", json={"amount": 99000}
    )
    await wait_until(lambda: len(hooks.received) == 2, within=5)
    [fva_paid], [invoice_paid] = (r.body for r in hooks.at("/fva")), (r.body for r in hooks.at("/invoice"))
    assert invoice_paid["status"] == "PAID"
    assert invoice_paid["payment_id"] == fva_paid["payment_id"]
    assert (invoice_paid["payment_method"], invoice_paid["payment_channel"]) == (
        "CALLBACK_VIRTUAL_ACCOUNT",
        "BNI",
    )
    assert invoice_paid["payment_destination"] == va["account_number"]
    assert invoice_paid["paid_amount"] == Decimal(99000)
    unknown_va = await xendit.post(
        "/v2/invoices", json={"external_id": "inv-8", "amount": 1000, "callback_virtual_account_id": "nope"}
    )
    assert unknown_va.status_code == 404


async def test_side_door_payment_can_send_duplicates_sharing_a_webhook_id(
    xendit: httpx.AsyncClient, hooks: WebhookReceiver
) -> None:
    va = await _va(xendit)
    paid = await xendit.post(
        f"/_sandbox/callback_virtual_accounts/{va['id']}/pay", json={"amount": 5000, "duplicates": 2}
    )
    assert len(paid.json()["callbacks"]) == 3
    await wait_until(lambda: len(hooks.received) == 3, within=5)
    assert len({r.headers["webhook-id"] for r in hooks.received}) == 1
    assert len({r.body["payment_id"] for r in hooks.received}) == 1
