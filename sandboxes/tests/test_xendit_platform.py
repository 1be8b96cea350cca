"""Behaviour the whole Xendit sandbox shares: per-product callback URLs, the test-mode rate limit,
invoices expiring on their own, Philippine channels, ``payment_id`` on paid invoices, and turning
callback delivery off and resending by hand."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import httpx
import pytest

from billing_testing.consumer_harness import wait_until
from billing_testing.webhooks import WebhookReceiver

KEY = "xnd_development_platform_key"


async def _invoice(client: httpx.AsyncClient, **fields: Any) -> dict[str, Any]:
    response = await client.post("/v2/invoices", json={"external_id": "inv-1", "amount": 150000, **fields})
    assert response.status_code == 200, response.text
    return dict(response.json())


async def test_each_product_posts_to_its_own_path_under_the_base_url(
    xendit: httpx.AsyncClient, hooks: WebhookReceiver
) -> None:
    invoice = await _invoice(xendit)
    await xendit.post(f"/_sandbox/invoices/{invoice['id']}/pay", json={"channel": "BCA"})
    va = (
        await xendit.post(
            "/callback_virtual_accounts", json={"external_id": "va-1", "bank_code": "BNI", "name": "A"}
        )
    ).json()
    await xendit.post("/callback_virtual_accounts/external_id=va-1/simulate_payment", json={"amount": 5000})
    await wait_until(lambda: len(hooks.received) == 2, within=5)
    assert [r.path for r in hooks.received] == ["/webhooks/xendit/invoice", "/webhooks/xendit/fva"]
    assert {r.headers["x-callback-token"] for r in hooks.received} == {"products-callback-token"}
    assert hooks.at("/fva")[0].body["callback_virtual_account_id"] == va["id"]


async def test_an_explicit_callback_url_still_receives_invoice_callbacks(
    sandbox_url: Callable[..., str], serve_asgi: Callable[[Any], str]
) -> None:
    own, base = WebhookReceiver(), WebhookReceiver()
    url = sandbox_url(
        "xendit",
        secret_key=KEY,
        callback_url=serve_asgi(own) + "/hooks/invoices",
        callback_base_url=serve_asgi(base) + "/webhooks/xendit",
    )
    async with httpx.AsyncClient(base_url=url, auth=(KEY, "")) as client:
        invoice = await _invoice(client)
        await client.post(f"/invoices/{invoice['id']}/expire!")
        await wait_until(lambda: len(own.received) == 1, within=5)
    assert own.received[0].path == "/hooks/invoices"
    assert own.received[0].body["status"] == "EXPIRED"
    assert base.received == []


async def test_a_one_second_invoice_expires_by_itself_and_sends_expired(
    xendit: httpx.AsyncClient, hooks: WebhookReceiver
) -> None:
    started = time.monotonic()
    invoice = await _invoice(xendit, invoice_duration=1)
    pending = (await xendit.get(f"/v2/invoices/{invoice['id']}")).json()
    await wait_until(lambda: len(hooks.at("/invoice")) == 1, within=5)
    elapsed = hooks.received[0].at - started
    body = hooks.received[0].body
    assert pending["status"] == "PENDING"
    assert 0.9 <= elapsed <= 2.5
    assert (body["id"], body["status"]) == (invoice["id"], "EXPIRED")
    assert "paid_amount" not in body
    stored = (await xendit.get(f"/v2/invoices/{invoice['id']}")).json()
    assert stored["status"] == "EXPIRED"
    refused = await xendit.post(f"/_sandbox/invoices/{invoice['id']}/pay", json={"channel": "BCA"})
    assert refused.status_code == 400
    assert len(hooks.at("/invoice")) == 1  # one EXPIRED callback, not one per read


async def test_an_invoice_past_its_expiry_is_listed_as_expired(sandbox_url: Callable[..., str]) -> None:
    url = sandbox_url("xendit", secret_key=KEY)
    async with httpx.AsyncClient(base_url=url, auth=(KEY, "")) as client:
        invoice = await _invoice(client, invoice_duration=1)
        before = (await client.get("/v2/invoices", params={"statuses": "PENDING"})).json()
        await asyncio.sleep(1.1)
        after = (await client.get("/v2/invoices", params={"statuses": "EXPIRED"})).json()
    assert [i["id"] for i in before] == [invoice["id"]]
    assert [(i["id"], i["expiry_date"]) for i in after] == [(invoice["id"], invoice["expiry_date"])]


async def test_a_php_invoice_is_paid_through_gcash_and_an_idr_one_refuses_it(
    xendit: httpx.AsyncClient, hooks: WebhookReceiver
) -> None:
    php = await _invoice(xendit, currency="PHP", amount=1499.5)
    idr = await _invoice(xendit)
    assert {e["ewallet_type"] for e in php["available_ewallets"]} == {"GCASH", "PAYMAYA", "GRABPAY"}
    assert {r["retail_outlet_name"] for r in php["available_retail_outlets"]} >= {"7ELEVEN", "CEBUANA"}
    assert {d["direct_debit_type"] for d in php["available_direct_debits"]} >= {"DD_BPI", "DD_UBP"}
    refused = await xendit.post(f"/_sandbox/invoices/{idr['id']}/pay", json={"channel": "GCASH"})
    assert refused.status_code == 400
    assert refused.json()["error_code"] == "UNSUPPORTED_CURRENCY"
    await xendit.post(f"/_sandbox/invoices/{php['id']}/pay", json={"channel": "GCASH"})
    await wait_until(lambda: len(hooks.received) == 1, within=5)
    body = hooks.received[0].body
    assert (body["currency"], body["payment_method"], body["payment_channel"]) == ("PHP", "EWALLET", "GCASH")
    assert body["paid_amount"] == Decimal("1499.5")
    assert body["payment_id"].startswith("ewc_")


@pytest.mark.parametrize(
    ("channel", "check"),
    [
        ("BCA", str.isdigit),
        ("OVO", lambda pid: pid.startswith("ewc_")),
        ("QRIS", lambda pid: pid.startswith("qrpy_")),
        ("ALFAMART", lambda pid: pid.startswith("ropy_")),
        ("DD_BRI", lambda pid: pid.startswith("ddpy-")),
    ],
)
async def test_every_paid_invoice_carries_a_payment_id(
    xendit: httpx.AsyncClient, hooks: WebhookReceiver, channel: str, check: Callable[[str], bool]
) -> None:
    invoice = await _invoice(xendit)
    await xendit.post(f"/_sandbox/invoices/{invoice['id']}/pay", json={"channel": channel})
    await wait_until(lambda: len(hooks.received) == 1, within=5)
    assert check(hooks.received[0].body["payment_id"])


async def test_card_payments_carry_the_charge_id_as_payment_id(
    xendit: httpx.AsyncClient, hooks: WebhookReceiver
) -> None:
    invoice = await _invoice(xendit)
    await xendit.post(f"/_sandbox/invoices/{invoice['id']}/pay", json={"channel": "CREDIT_CARD"})
    await wait_until(lambda: len(hooks.received) == 1, within=5)
    body = hooks.received[0].body
    assert body["credit_card_charge_id"] == body["payment_id"]


async def test_the_default_budget_is_60_a_minute_per_endpoint_across_ids(
    sandbox_url: Callable[..., str],
) -> None:
    url = sandbox_url("xendit", secret_key=KEY)
    async with httpx.AsyncClient(base_url=url, auth=(KEY, "")) as client:
        statuses = [(await client.get(f"/v2/invoices/{i:024x}")).status_code for i in range(61)]
        other = await client.get("/v2/invoices")
    assert statuses[:60] == [404] * 60  # unknown ids, but counted: the endpoint is the route template
    assert statuses[60] == 429
    assert other.status_code == 200
    assert other.headers["Rate-Limit-Limit"] == "60"


async def test_the_61st_request_is_429_with_rate_limit_headers(sandbox_url: Callable[..., str]) -> None:
    url = sandbox_url("xendit", secret_key=KEY)
    async with httpx.AsyncClient(base_url=url, auth=(KEY, "")) as client:
        answers = [await client.get("/payment_requests") for _ in range(61)]
    assert [a.status_code for a in answers[:60]] == [200] * 60
    limited = answers[60]
    assert limited.status_code == 429
    assert limited.json()["error_code"] == "RATE_LIMIT_EXCEEDED"
    assert (limited.headers["Rate-Limit-Limit"], limited.headers["Rate-Limit-Remaining"]) == ("60", "0")
    assert 0 < float(limited.headers["Rate-Limit-Reset"]) <= 60
    assert answers[59].headers["Rate-Limit-Remaining"] == "0"


async def test_wrong_key_is_401_on_every_product(xendit_url: str) -> None:
    paths = [
        "/v2/invoices",
        "/payment_requests",
        "/refunds",
        "/recurring/plans/repl-x",
        "/ewallets/charges/x",
    ]
    async with httpx.AsyncClient(base_url=xendit_url, auth=("xnd_development_wrong", "")) as client:
        answers = [await client.get(path) for path in paths]
    assert {a.status_code for a in answers} == {401}
    assert {a.json()["error_code"] for a in answers} == {"INVALID_API_KEY"}


async def test_disabled_delivery_logs_not_sent_and_a_manual_resend_delivers_it(
    xendit: httpx.AsyncClient, hooks: WebhookReceiver
) -> None:
    await xendit.post("/_sandbox/config", json={"callbacks_enabled": False})
    invoice = await _invoice(xendit)
    paid = (await xendit.post(f"/_sandbox/invoices/{invoice['id']}/pay", json={"channel": "BCA"})).json()
    await wait_until(lambda: _state_is(xendit, "not_sent"), within=5)
    assert hooks.received == []
    await xendit.post("/_sandbox/config", json={"callbacks_enabled": True})
    await xendit.post(f"/_sandbox/callbacks/{paid['callbacks'][0]}/resend")
    await wait_until(lambda: len(hooks.received) == 1, within=5)
    assert hooks.received[0].body["status"] == "PAID"


async def _state_is(client: httpx.AsyncClient, state: str) -> bool:
    log = (await client.get("/_sandbox/callbacks", params={"product": "invoice"})).json()
    return bool(log) and log[0]["state"] == state
