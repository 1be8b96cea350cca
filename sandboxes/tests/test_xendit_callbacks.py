"""The Xendit sandbox sends the real flat invoice callback, retries it on Xendit's (compressed)
schedule, and duplicates or reorders it on request."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import httpx
import pytest

KEY = "xnd_development_test_key"
TOKEN = "test-callback-token"
SCALE = 0.00002  # Xendit's 24 h of retries in ~1.7 s: 18 ms, 54 ms, 144 ms, 216 ms, 432 ms, 864 ms


@dataclass
class Receiver:
    """An ASGI app that records callbacks and answers the statuses it is told, then 200."""

    answers: list[int] = field(default_factory=list)
    received: list[dict[str, Any]] = field(default_factory=list)
    times: list[float] = field(default_factory=list)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = {k.decode(): v.decode() for k, v in scope["headers"]}
        self.received.append({"headers": headers, "body": json.loads(body, parse_float=Decimal)})
        self.times.append(time.monotonic())
        status = self.answers.pop(0) if self.answers else 200
        await send({"type": "http.response.start", "status": status, "headers": []})
        await send({"type": "http.response.body", "body": b"{}"})


@pytest.fixture
def receiver() -> Receiver:
    return Receiver()


@pytest.fixture
async def xendit(
    sandbox_url: Callable[..., str], serve_asgi: Callable[[Any], str], receiver: Receiver
) -> AsyncIterator[httpx.AsyncClient]:
    callback_url = serve_asgi(receiver) + "/webhooks/xendit/invoice"
    base = sandbox_url(
        "xendit", secret_key=KEY, callback_url=callback_url, callback_token=TOKEN, time_scale=SCALE
    )
    async with httpx.AsyncClient(base_url=base, auth=(KEY, ""), timeout=5) as client:
        yield client


async def _invoice(
    client: httpx.AsyncClient, external_id: str = "inv-1", amount: int = 150000
) -> dict[str, Any]:
    response = await client.post("/v2/invoices", json={"external_id": external_id, "amount": amount})
    return dict(response.json())


async def _value(result: bool | Awaitable[bool]) -> bool:
    return result if isinstance(result, bool) else await result


async def _until(check: Callable[[], bool | Awaitable[bool]], within: float = 5.0) -> None:
    deadline = time.monotonic() + within
    while not await _value(check()):
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)


async def _has_state(client: httpx.AsyncClient, state: str) -> bool:
    log = (await client.get("/_sandbox/callbacks")).json()
    return bool(log) and log[0]["state"] == state


async def test_paying_through_bca_sends_the_flat_paid_callback_with_token(
    xendit: httpx.AsyncClient, receiver: Receiver
) -> None:
    invoice = await _invoice(xendit)
    await xendit.post(f"/_sandbox/invoices/{invoice['id']}/pay", json={"channel": "BCA"})
    await _until(lambda: len(receiver.received) == 1)
    callback = receiver.received[0]
    assert callback["headers"]["x-callback-token"] == TOKEN
    assert callback["headers"]["webhook-id"]
    body = callback["body"]
    assert (body["id"], body["external_id"], body["status"]) == (invoice["id"], "inv-1", "PAID")
    assert (body["payment_method"], body["payment_channel"], body["bank_code"]) == (
        "BANK_TRANSFER",
        "BCA",
        "BCA",
    )
    assert body["paid_amount"] == Decimal(150000)
    assert body["payment_id"].isdigit()  # the VA payment's id, numeric as in fixed-VA payments
    assert not {"event", "data"} & body.keys()  # flat, no envelope


@pytest.mark.parametrize(
    ("channel", "method", "extra"),
    [
        ("MANDIRI", "BANK_TRANSFER", "payment_destination"),
        ("QRIS", "QR_CODE", "payment_details"),
        ("DANA", "EWALLET", "ewallet_type"),
        ("ALFAMART", "RETAIL_OUTLET", "payment_destination"),
        ("CREDIT_CARD", "CREDIT_CARD", "credit_card_charge_id"),
    ],
)
async def test_each_channel_has_its_own_callback_fields(
    xendit: httpx.AsyncClient, receiver: Receiver, channel: str, method: str, extra: str
) -> None:
    invoice = await _invoice(xendit)
    await xendit.post(f"/_sandbox/invoices/{invoice['id']}/pay", json={"channel": channel, "amount": 100000})
    await _until(lambda: len(receiver.received) == 1)
    body = receiver.received[0]["body"]
    assert (body["payment_method"], body["payment_channel"]) == (method, channel)
    assert extra in body
    assert body["paid_amount"] == Decimal(100000)


async def test_expiry_then_late_payment_send_expired_then_paid(
    xendit: httpx.AsyncClient, receiver: Receiver
) -> None:
    invoice = await _invoice(xendit)
    await xendit.post(f"/_sandbox/invoices/{invoice['id']}/expire")
    await _until(lambda: len(receiver.received) == 1)
    await xendit.post(
        f"/_sandbox/invoices/{invoice['id']}/pay", json={"channel": "OVO", "after_expiry": True}
    )
    await _until(lambda: len(receiver.received) == 2)
    expired, paid = (r["body"] for r in receiver.received)
    assert expired["status"] == "EXPIRED"
    assert "paid_amount" not in expired
    assert paid["status"] == "PAID"
    assert paid["payment_id"].startswith("ewc_")


async def test_non_2xx_is_retried_on_the_compressed_schedule_with_the_same_webhook_id(
    xendit: httpx.AsyncClient, receiver: Receiver
) -> None:
    receiver.answers = [500, 503, 404]
    invoice = await _invoice(xendit)
    await xendit.post(f"/_sandbox/invoices/{invoice['id']}/pay", json={"channel": "BCA"})
    await _until(lambda: len(receiver.received) == 4)
    gaps = [later - earlier for earlier, later in zip(receiver.times, receiver.times[1:], strict=False)]
    expected = [900 * SCALE, 2700 * SCALE, 7200 * SCALE]
    assert all(gap >= want * 0.9 for gap, want in zip(gaps, expected, strict=True))
    assert len({r["headers"]["webhook-id"] for r in receiver.received}) == 1
    log = (await xendit.get("/_sandbox/callbacks", params={"invoice_id": invoice["id"]})).json()
    assert log[0]["state"] == "delivered"
    assert [a["status_code"] for a in log[0]["attempts"]] == [500, 503, 404, 200]


async def test_gives_up_after_six_retries(xendit: httpx.AsyncClient, receiver: Receiver) -> None:
    receiver.answers = [500] * 10
    invoice = await _invoice(xendit)
    await xendit.post(f"/_sandbox/invoices/{invoice['id']}/pay", json={"channel": "BCA"})
    await _until(lambda: _has_state(xendit, "failed"), within=8)
    assert len(receiver.received) == 7  # the original and six retries


async def test_duplicates_share_the_webhook_id(xendit: httpx.AsyncClient, receiver: Receiver) -> None:
    invoice = await _invoice(xendit)
    await xendit.post(
        f"/_sandbox/invoices/{invoice['id']}/pay", json={"channel": "QRIS", "duplicates": 3, "shuffle": True}
    )
    await _until(lambda: len(receiver.received) == 4)
    assert len({r["headers"]["webhook-id"] for r in receiver.received}) == 1
    assert {r["body"]["status"] for r in receiver.received} == {"PAID"}


async def test_held_callbacks_are_released_out_of_order(
    xendit: httpx.AsyncClient, receiver: Receiver
) -> None:
    invoice = await _invoice(xendit)
    await xendit.post(f"/_sandbox/invoices/{invoice['id']}/expire", json={"hold": True})
    await xendit.post(
        f"/_sandbox/invoices/{invoice['id']}/pay",
        json={"channel": "DANA", "after_expiry": True, "hold": True},
    )
    await asyncio.sleep(0.1)
    assert receiver.received == []  # held
    await xendit.post("/_sandbox/callbacks/release", json={"order": "reverse"})
    await _until(lambda: len(receiver.received) == 2)
    assert [r["body"]["status"] for r in receiver.received] == ["PAID", "EXPIRED"]


async def test_manual_resend_sends_the_same_callback_again(
    xendit: httpx.AsyncClient, receiver: Receiver
) -> None:
    invoice = await _invoice(xendit)
    paid = await xendit.post(f"/_sandbox/invoices/{invoice['id']}/pay", json={"channel": "BCA"})
    sent = paid.json()["callbacks"]
    await _until(lambda: len(receiver.received) == 1)
    resent = (await xendit.post(f"/_sandbox/callbacks/{sent[0]}/resend")).json()
    await _until(lambda: len(receiver.received) == 2)
    assert resent["resend_of"] == sent[0]
    assert receiver.received[0]["body"] == receiver.received[1]["body"]
    assert receiver.received[0]["headers"]["webhook-id"] == receiver.received[1]["headers"]["webhook-id"]


async def test_a_receiver_slower_than_the_timeout_is_marked_timeout_and_not_retried(
    sandbox_url: Callable[..., str], serve_asgi: Callable[[Any], str]
) -> None:
    async def slow(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            await asyncio.sleep(1.0)
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": b""})

    base = sandbox_url(
        "xendit",
        secret_key=KEY,
        callback_url=serve_asgi(slow),
        time_scale=SCALE,
        callback_timeout_seconds=0.2,
    )
    async with httpx.AsyncClient(base_url=base, auth=(KEY, "")) as client:
        invoice = await _invoice(client)
        await client.post(f"/_sandbox/invoices/{invoice['id']}/expire")
        await _until(lambda: _has_state(client, "timeout"))
        await asyncio.sleep(0.2)
        log = (await client.get("/_sandbox/callbacks")).json()
        assert len(log[0]["attempts"]) == 1
