"""xendit_sync's handlers against the Xendit sandbox on loopback, with a recording context."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from decimal import Decimal
from typing import Any

import httpx
import pytest

from billing_testing.context import RecordingContext
from lovia_billing import (
    ConfirmationMismatch,
    DownstreamUnavailable,
    EventType,
    Integration,
    InvoiceExpired,
    InvoiceIssued,
    InvoiceRequested,
    PaymentSucceeded,
    PermanentError,
    RateLimited,
    SubscriptionCancelled,
    XenditInvoiceExpired,
    XenditInvoicePaid,
    derive_event_id,
)
from lovia_billing.clients.xendit import XenditClient
from lovia_billing.topology import follow_up_targets, handled_by
from xendit_sync.app import build
from xendit_sync.handlers import XenditHandlers
from xendit_sync.settings import XenditSyncSettings

KEY = "xnd_development_sync_test"


def requested(invoice_id: str = "inv_1", amount: str = "150000", **extra: Any) -> InvoiceRequested:
    fields: dict[str, Any] = {
        "customer_id": "cus_1",
        "invoice_id": invoice_id,
        "currency": "IDR",
        "amount": amount,
        "lines": [{"item_code": "pro", "description": "Lovia Pro", "quantity": 1, "unit_amount": amount}],
        "description": "Lovia Pro, November",
        "payer_email": "ana@example.com",
        "subscription_id": "sub_1",
    }
    return InvoiceRequested.create(**{**fields, **extra})


def callback(body: dict[str, Any], customer_id: str = "cus_1") -> XenditInvoicePaid | XenditInvoiceExpired:
    """What the ingest enqueues for a flat invoice callback."""
    cls = XenditInvoiceExpired if body["status"] == "EXPIRED" else XenditInvoicePaid
    return cls.create(
        customer_id=customer_id,
        xendit_invoice_id=body["id"],
        external_id=body["external_id"],
        status=body["status"],
        currency=body["currency"],
        amount=body["amount"],
        paid_amount=body.get("paid_amount"),
        payment_method=body.get("payment_method"),
        payment_channel=body.get("payment_channel"),
        payment_id=body.get("payment_id"),
        paid_at=body.get("paid_at"),
    )


class Sandbox:
    """The side door of one Xendit sandbox."""

    def __init__(self, url: str) -> None:
        self.url = url

    async def post(self, path: str, body: dict[str, Any] | None = None) -> Any:
        async with httpx.AsyncClient(base_url=self.url) as client:
            response = await client.post(path, json=body or {})
        response.raise_for_status()
        return json.loads(response.content, parse_float=Decimal)

    async def invoices(self) -> list[dict[str, Any]]:
        async with httpx.AsyncClient(base_url=self.url) as client:
            state = (await client.get("/_sandbox/state")).json()
        return list(state["invoices"])

    async def pay(self, invoice_id: str, **body: Any) -> dict[str, Any]:
        paid = await self.post(f"/_sandbox/invoices/{invoice_id}/pay", body)
        return dict(paid["invoice"])

    async def expire(self, invoice_id: str) -> dict[str, Any]:
        return dict((await self.post(f"/_sandbox/invoices/{invoice_id}/expire"))["invoice"])


@pytest.fixture
def sandbox(sandbox_url: Callable[..., str]) -> Sandbox:
    return Sandbox(sandbox_url("xendit", secret_key=KEY))


@pytest.fixture
def settings(sandbox: Sandbox) -> XenditSyncSettings:
    return XenditSyncSettings(xendit_base_url=sandbox.url, xendit_secret_key=KEY)


@pytest.fixture
async def handlers(settings: XenditSyncSettings) -> AsyncIterator[XenditHandlers]:
    async with XenditClient(settings.xendit_base_url, settings.xendit_secret_key) as client:
        yield XenditHandlers(client, settings)


@pytest.fixture
def ctx() -> RecordingContext:
    return RecordingContext(Integration.XENDIT)


async def issue(handlers: XenditHandlers, event: InvoiceRequested | None = None) -> InvoiceIssued:
    ctx = RecordingContext(Integration.XENDIT)
    await handlers.on_invoice_requested(event or requested(), ctx)
    (issued,) = ctx.published
    assert isinstance(issued, InvoiceIssued)
    return issued


def test_build_handles_every_event_of_the_xendit_queue(settings: XenditSyncSettings) -> None:
    app = build(settings)
    assert app.integration is Integration.XENDIT
    assert set(app.handlers) == set(handled_by(Integration.XENDIT))
    assert len(app.resources) == 1


async def test_requested_invoice_becomes_one_xendit_invoice_and_invoice_issued(
    handlers: XenditHandlers, sandbox: Sandbox, ctx: RecordingContext
) -> None:
    event = requested()
    await handlers.on_invoice_requested(event, ctx)
    (invoice,) = await sandbox.invoices()
    (issued,) = ctx.published
    assert isinstance(issued, InvoiceIssued)
    assert (issued.xendit_invoice_id, issued.invoice_url) == (invoice["id"], invoice["invoice_url"])
    assert issued.invoice_id == "inv_1"
    assert issued.customer_id == "cus_1"
    assert issued.expires_at > issued.issued_at
    assert invoice["external_id"] == "inv_1"
    assert invoice["metadata"] == {
        "lovia_customer_id": "cus_1",
        "lovia_invoice_id": "inv_1",
        "lovia_subscription_id": "sub_1",
    }
    assert invoice["customer"]["customer_id"] == "cus_1"
    assert invoice["items"][0]["reference_id"] == "pro"


async def test_the_same_request_three_times_is_still_one_invoice(
    handlers: XenditHandlers, sandbox: Sandbox, ctx: RecordingContext
) -> None:
    for _ in range(3):
        await handlers.on_invoice_requested(requested(), ctx)
    assert len(await sandbox.invoices()) == 1
    assert len({event.event_id for event in ctx.published}) == 1
    assert len({event.body() for event in ctx.published}) == 1  # SQS deduplicates identical bodies


async def test_create_then_fail_is_retried_without_a_second_invoice(
    handlers: XenditHandlers, sandbox: Sandbox, ctx: RecordingContext
) -> None:
    await sandbox.post("/_sandbox/faults", {"kind": "commit_then_fail", "method": "POST", "count": 1})
    with pytest.raises(DownstreamUnavailable):
        await handlers.on_invoice_requested(requested(), ctx)
    assert len(await sandbox.invoices()) == 1  # created, though we were told it failed
    await handlers.on_invoice_requested(requested(), ctx)  # the runtime's retry
    (invoice,) = await sandbox.invoices()
    (issued,) = ctx.published
    assert isinstance(issued, InvoiceIssued)
    assert issued.xendit_invoice_id == invoice["id"]


async def test_an_invoice_id_reused_with_another_amount_is_refused(
    handlers: XenditHandlers, ctx: RecordingContext
) -> None:
    await issue(handlers)
    with pytest.raises(PermanentError, match="already has external_id inv_1"):
        await handlers.on_invoice_requested(requested(amount="99000"), ctx)


async def test_paid_callback_confirmed_by_the_api_becomes_payment_succeeded(
    handlers: XenditHandlers, sandbox: Sandbox, ctx: RecordingContext
) -> None:
    issued = await issue(handlers)
    body = await sandbox.pay(issued.xendit_invoice_id, channel="DANA", fee="3000")
    await handlers.on_invoice_callback(callback(body), ctx)
    (payment,) = ctx.published
    assert isinstance(payment, PaymentSucceeded)
    assert (payment.customer_id, payment.invoice_id) == ("cus_1", "inv_1")
    assert payment.amount == Decimal(150000)
    assert payment.fees == Decimal(3000)
    assert (payment.method, payment.channel) == ("EWALLET", "DANA")
    assert payment.payment_id == body["payment_id"]
    assert payment.after_expiry is False


async def test_a_va_payment_is_keyed_on_xendits_payment_id(
    handlers: XenditHandlers, sandbox: Sandbox, ctx: RecordingContext
) -> None:
    """Real VA callbacks carry ``payment_id``: the payment's identity, not the invoice id."""
    issued = await issue(handlers)
    body = await sandbox.pay(issued.xendit_invoice_id, channel="BCA")
    await handlers.on_invoice_callback(callback(body), ctx)
    (payment,) = ctx.published
    assert isinstance(payment, PaymentSucceeded)
    assert body["payment_id"]
    assert payment.payment_id == body["payment_id"] != issued.xendit_invoice_id
    assert payment.event_id == derive_event_id("payment.succeeded", body["payment_id"])
    assert (payment.channel, payment.invoice_amount) == ("BCA", Decimal("150000"))


async def test_customer_id_comes_from_xendit_not_from_the_callback(
    handlers: XenditHandlers, sandbox: Sandbox, ctx: RecordingContext
) -> None:
    issued = await issue(handlers)
    body = await sandbox.pay(issued.xendit_invoice_id, channel="QRIS")
    await handlers.on_invoice_callback(callback(body, customer_id="inv_1"), ctx)  # ingest fell back
    assert ctx.published[0].customer_id == "cus_1"


async def test_a_callback_whose_amount_the_api_does_not_confirm_is_a_mismatch(
    handlers: XenditHandlers, sandbox: Sandbox, ctx: RecordingContext
) -> None:
    issued = await issue(handlers)
    body = await sandbox.pay(issued.xendit_invoice_id, channel="BCA")
    forged = {**body, "paid_amount": Decimal(15000000)}
    with pytest.raises(
        ConfirmationMismatch, match="paid_amount is 150000 at Xendit but 15000000 in the callback"
    ):
        await handlers.on_invoice_callback(callback(forged), ctx)
    assert ctx.published == []


async def test_a_paid_callback_for_an_unpaid_invoice_is_a_mismatch(
    handlers: XenditHandlers, sandbox: Sandbox, ctx: RecordingContext
) -> None:
    issued = await issue(handlers)
    (invoice,) = await sandbox.invoices()
    forged = {**invoice, "status": "PAID", "amount": Decimal(1), "paid_amount": Decimal(1)}
    with pytest.raises(ConfirmationMismatch) as caught:
        await handlers.on_invoice_callback(callback(forged), ctx)
    assert "status is PENDING at Xendit but PAID" in str(caught.value)
    assert "amount is 150000 at Xendit but 1 in the callback" in str(caught.value)
    assert issued.xendit_invoice_id in str(caught.value)
    assert ctx.published == []


async def test_a_callback_for_an_invoice_xendit_does_not_know_is_a_mismatch(
    handlers: XenditHandlers, ctx: RecordingContext
) -> None:
    body = {"id": "0123456789abcdef01234567", "external_id": "inv_1", "status": "PAID", "currency": "IDR"}
    with pytest.raises(ConfirmationMismatch, match="Xendit has no such invoice"):
        await handlers.on_invoice_callback(callback({**body, "amount": 1, "paid_amount": 1}), ctx)


async def test_paid_and_settled_publish_the_same_payment(
    handlers: XenditHandlers, sandbox: Sandbox, ctx: RecordingContext
) -> None:
    issued = await issue(handlers)
    paid = await sandbox.pay(issued.xendit_invoice_id, channel="MANDIRI")
    await handlers.on_invoice_callback(callback(paid), ctx)
    settled = (await sandbox.post(f"/_sandbox/invoices/{issued.xendit_invoice_id}/settle"))["invoice"]
    await handlers.on_invoice_callback(callback(settled), ctx)
    first, second = ctx.published
    assert first.event_id == second.event_id
    assert first.body() == second.body()


async def test_expiry_then_late_payment(
    handlers: XenditHandlers, sandbox: Sandbox, ctx: RecordingContext
) -> None:
    issued = await issue(handlers)
    expired_body = await sandbox.expire(issued.xendit_invoice_id)
    await handlers.on_invoice_callback(callback(expired_body), ctx)
    paid_body = await sandbox.pay(issued.xendit_invoice_id, channel="OVO", after_expiry=True)
    await handlers.on_invoice_callback(callback(paid_body), ctx)
    expired, payment = ctx.published
    assert isinstance(expired, InvoiceExpired)
    assert (expired.invoice_id, expired.amount) == ("inv_1", Decimal(150000))
    assert isinstance(payment, PaymentSucceeded)
    assert payment.after_expiry is True


async def test_an_expiry_overtaken_by_a_late_payment_books_only_the_payment(
    handlers: XenditHandlers, sandbox: Sandbox, ctx: RecordingContext
) -> None:
    issued = await issue(handlers)
    expired_body = await sandbox.expire(issued.xendit_invoice_id)
    paid_body = await sandbox.pay(issued.xendit_invoice_id, channel="OVO", after_expiry=True)
    await handlers.on_invoice_callback(callback(paid_body), ctx)  # out of order
    await handlers.on_invoice_callback(callback(expired_body), ctx)
    (payment,) = ctx.published
    assert isinstance(payment, PaymentSucceeded)
    assert payment.after_expiry is True


async def test_an_expired_callback_for_an_open_invoice_is_a_mismatch(
    handlers: XenditHandlers, sandbox: Sandbox, ctx: RecordingContext
) -> None:
    await issue(handlers)
    (invoice,) = await sandbox.invoices()
    with pytest.raises(ConfirmationMismatch, match="status is PENDING at Xendit but EXPIRED"):
        await handlers.on_invoice_callback(callback({**invoice, "status": "EXPIRED"}), ctx)


async def test_rate_limited_by_xendit_raises_rate_limited_with_its_reset(
    sandbox_url: Callable[..., str], ctx: RecordingContext
) -> None:
    url = sandbox_url("xendit", secret_key=KEY, rate_limit=1, rate_limit_window_seconds=30)
    settings = XenditSyncSettings(xendit_base_url=url, xendit_secret_key=KEY)
    async with XenditClient(url, KEY) as client:
        handlers = XenditHandlers(client, settings)
        await handlers.on_invoice_requested(requested("inv_a"), ctx)
        with pytest.raises(RateLimited) as caught:
            await handlers.on_invoice_requested(requested("inv_b"), ctx)
    assert caught.value.retry_after is not None
    assert 25 < caught.value.retry_after <= 30


async def test_cancelling_a_subscription_expires_only_its_open_invoices(
    handlers: XenditHandlers, sandbox: Sandbox, ctx: RecordingContext
) -> None:
    open_one = await issue(handlers, requested("inv_1"))
    paid_one = await issue(handlers, requested("inv_2"))
    await sandbox.pay(paid_one.xendit_invoice_id, channel="BCA")
    other_sub = await issue(handlers, requested("inv_3", subscription_id="sub_2"))
    other_customer = await issue(handlers, requested("inv_4", customer_id="cus_2"))
    cancelled = SubscriptionCancelled.create(
        customer_id="cus_1", subscription_id="sub_1", cancelled_at="2026-11-25T00:00:00Z"
    )
    await handlers.on_subscription_cancelled(cancelled, ctx)
    status = {invoice["external_id"]: invoice["status"] for invoice in await sandbox.invoices()}
    assert status == {"inv_1": "EXPIRED", "inv_2": "PAID", "inv_3": "PENDING", "inv_4": "PENDING"}
    expired, passed_on = ctx.published
    assert isinstance(expired, InvoiceExpired)
    assert expired.xendit_invoice_id == open_one.xendit_invoice_id
    # then the cancellation itself, passed on to the books behind the expiry (topology.FORWARDS)
    assert isinstance(passed_on, SubscriptionCancelled)
    assert follow_up_targets(passed_on.event_type) == (
        Integration.CHARTMOGUL,
        Integration.MAUTIC,
        Integration.ERPNEXT,
    )
    assert {other_sub.invoice_id, other_customer.invoice_id} == {"inv_3", "inv_4"}


async def test_the_callback_loop_closes_locally(
    sandbox_url: Callable[..., str], serve_asgi: Callable[[Any], str], ctx: RecordingContext
) -> None:
    """Sandbox → callback with token → (what the ingest does) → handler → PaymentSucceeded."""
    events: list[XenditInvoicePaid | XenditInvoiceExpired] = []

    async def receiver(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        message = await receive()
        headers = dict(scope["headers"])
        ok = headers.get(b"x-callback-token") == b"loop-token"
        if ok:
            events.append(callback(json.loads(message["body"], parse_float=Decimal)))
        await send({"type": "http.response.start", "status": 200 if ok else 401, "headers": []})
        await send({"type": "http.response.body", "body": b"{}"})

    url = sandbox_url(
        "xendit", secret_key=KEY, callback_url=serve_asgi(receiver), callback_token="loop-token"
    )
    settings = XenditSyncSettings(xendit_base_url=url, xendit_secret_key=KEY)
    async with XenditClient(url, KEY) as client:
        handlers = XenditHandlers(client, settings)
        issued = await issue(handlers)
        await Sandbox(url).pay(issued.xendit_invoice_id, channel="BCA", duplicates=2)
        for _ in range(250):
            if len(events) == 3:
                break
            await asyncio.sleep(0.02)
        for event in events:
            await handlers.on_invoice_callback(event, ctx)
    assert len(events) == 3
    assert len({event.event_id for event in ctx.published}) == 1
    assert ctx.published[0].event_type is EventType.PAYMENT_SUCCEEDED
