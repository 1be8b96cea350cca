"""The Xendit client against the Xendit sandbox on loopback: typed results, Decimal money, errors mapped."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from decimal import Decimal

import httpx
import pytest

from lovia_billing import DownstreamTimeout, DownstreamUnavailable, PermanentError, RateLimited
from lovia_billing.clients.xendit import (
    CreateInvoiceRequest,
    InvoiceCustomer,
    InvoiceItem,
    RateLimitPacer,
    XenditClient,
)

KEY = "xnd_development_client_test"


@pytest.fixture
def base_url(sandbox_url: Callable[..., str]) -> str:
    return sandbox_url("xendit", secret_key=KEY, rate_limit=1000)


@pytest.fixture
async def xendit(base_url: str) -> AsyncIterator[XenditClient]:
    async with XenditClient(base_url, KEY, timeout=2.0) as client:
        yield client


async def _fault(base_url: str, rule: dict[str, object]) -> None:
    async with httpx.AsyncClient() as client:
        (await client.post(f"{base_url}/_sandbox/faults", json=rule)).raise_for_status()


def _request(
    external_id: str = "inv-1", amount: str = "150000", currency: str = "IDR"
) -> CreateInvoiceRequest:
    return CreateInvoiceRequest(
        external_id=external_id,
        amount=Decimal(amount),
        currency=currency,
        description="Lovia Pro, November",
        customer=InvoiceCustomer(customer_id="cus_1", email="a@example.com"),
        items=(InvoiceItem(name="Pro", price=Decimal(amount), quantity=1),),
        metadata={"lovia_customer_id": "cus_1", "lovia_invoice_id": external_id},
    )


async def test_create_then_get_round_trips_typed_fields(xendit: XenditClient) -> None:
    created = await xendit.create_invoice(_request())
    fetched = await xendit.get_invoice(created.id)
    assert fetched == created
    assert created.status == "PENDING"
    assert created.amount == Decimal(150000)
    assert created.metadata == {"lovia_customer_id": "cus_1", "lovia_invoice_id": "inv-1"}
    assert created.customer is not None
    assert created.customer.customer_id == "cus_1"
    assert created.expiry_date > created.created


async def test_decimal_amounts_travel_exactly(xendit: XenditClient) -> None:
    created = await xendit.create_invoice(_request(amount="1499.55", currency="PHP"))
    assert created.amount == Decimal("1499.55")
    assert isinstance(created.amount, Decimal)


async def test_get_unknown_invoice_is_none(xendit: XenditClient) -> None:
    assert await xendit.get_invoice("0123456789abcdef01234567") is None


async def test_find_by_external_id_and_status_across_pages(xendit: XenditClient) -> None:
    ids = [(await xendit.create_invoice(_request("inv-7"))).id for _ in range(5)]
    await xendit.create_invoice(_request("inv-8"))
    expired = await xendit.expire_invoice(ids[0])
    assert expired.status == "EXPIRED"
    found = await xendit.find_invoices(external_id="inv-7", page_size=2)
    pending = await xendit.find_invoices(external_id="inv-7", statuses=["PENDING"], page_size=2)
    assert sorted(i.id for i in found) == sorted(ids)
    assert sorted(i.id for i in pending) == sorted(ids[1:])


async def test_wrong_key_and_invalid_request_are_permanent(base_url: str, xendit: XenditClient) -> None:
    async with XenditClient(base_url, "xnd_development_wrong") as wrong:
        with pytest.raises(PermanentError, match="INVALID_API_KEY"):
            await wrong.get_invoice("x")
    with pytest.raises(PermanentError, match="INVOICE_NOT_FOUND_ERROR"):
        await xendit.expire_invoice("0123456789abcdef01234567")


async def test_429_without_retry_after_uses_rate_limit_reset(sandbox_url: Callable[..., str]) -> None:
    url = sandbox_url("xendit", secret_key=KEY, rate_limit=1, rate_limit_window_seconds=20)
    async with XenditClient(url, KEY) as xendit:
        await xendit.find_invoices(external_id="a")
        with pytest.raises(RateLimited) as caught:
            await xendit.find_invoices(external_id="a")
    assert caught.value.retry_after is not None
    assert 15 < caught.value.retry_after <= 20


async def test_injected_429_waits_the_rate_limit_reset_seconds(base_url: str, xendit: XenditClient) -> None:
    await _fault(base_url, {"kind": "rate_limit", "retry_after": 7, "count": 1})  # Rate-Limit-Reset: 7.00
    with pytest.raises(RateLimited) as caught:
        await xendit.get_invoice("x")
    assert caught.value.retry_after == 7.0


async def test_5xx_is_retryable_and_names_xendits_error(base_url: str, xendit: XenditClient) -> None:
    await _fault(base_url, {"kind": "status", "status": 502, "count": 1})
    with pytest.raises(DownstreamUnavailable, match="SERVER_ERROR"):
        await xendit.create_invoice(_request())


async def test_a_hanging_xendit_is_a_timeout(base_url: str) -> None:
    await _fault(base_url, {"kind": "timeout", "hang_ms": 1500, "count": 1})
    async with XenditClient(base_url, KEY, timeout=0.3) as xendit:
        with pytest.raises(DownstreamTimeout):
            await xendit.get_invoice("x")


async def _paid(base_url: str, xendit: XenditClient, external_id: str, paid_at: str) -> str:
    invoice = await xendit.create_invoice(_request(external_id))
    async with httpx.AsyncClient() as client:
        paid = await client.post(
            f"{base_url}/_sandbox/invoices/{invoice.id}/pay", json={"channel": "BCA", "paid_at": paid_at}
        )
    paid.raise_for_status()
    return invoice.id


async def test_iter_invoices_reads_the_paid_window_page_by_page(base_url: str, xendit: XenditClient) -> None:
    inside = [await _paid(base_url, xendit, f"in-{n}", f"2026-11-25T0{n}:00:00.000Z") for n in range(5)]
    await _paid(base_url, xendit, "before", "2026-11-24T23:00:00.000Z")
    await xendit.create_invoice(_request("unpaid"))
    after, before = datetime(2026, 11, 25, tzinfo=UTC), datetime(2026, 11, 26, tzinfo=UTC)

    pages = [
        [invoice.id for invoice in page]
        async for page in xendit.iter_invoices(statuses=["PAID"], paid=(after, before), page_size=2)
    ]

    assert [len(page) for page in pages] == [2, 2, 1]
    assert [invoice_id for page in pages for invoice_id in page] == inside[::-1]  # newest first


async def test_a_pacer_waits_for_rate_limit_reset_instead_of_meeting_429(
    sandbox_url: Callable[..., str],
) -> None:
    url = sandbox_url("xendit", secret_key=KEY, rate_limit=2, rate_limit_window_seconds=1.5)
    pacer = RateLimitPacer()
    async with XenditClient(url, KEY, pacer=pacer) as xendit:
        for n in range(5):
            await xendit.create_invoice(_request(f"inv-{n}"))
        await asyncio.sleep(1.6)  # the creations' window passes; listing has its own budget anyway
        started = time.monotonic()
        pages = [page async for page in xendit.iter_invoices(page_size=1)]
        took = time.monotonic() - started

    assert len(pages) == 5
    assert pacer.requests["GET /v2/invoices"] == 6  # five pages and the empty one after them
    assert sum(pacer.throttled.values()) == 0  # the headers said when to come back: never a 429
    assert pacer.requests["POST /v2/invoices"] == 5  # its own budget: the third creation waited
    assert took >= 2 * 1.5 - 0.2  # six requests at two per 1.5 s window: two waits at least
    assert pacer.waited_seconds > 0


async def test_iter_refunds_follows_after_id(base_url: str, xendit: XenditClient) -> None:
    paid = [await _paid(base_url, xendit, f"r-{n}", "2026-11-25T01:00:00.000Z") for n in range(3)]
    async with httpx.AsyncClient(base_url=base_url, auth=(KEY, "")) as client:
        for invoice_id in paid:
            (
                await client.post("/refunds", json={"invoice_id": invoice_id, "reason": "OTHERS"})
            ).raise_for_status()

    pages = [page async for page in xendit.iter_refunds(page_size=2)]

    assert [len(page) for page in pages] == [2, 1]
    assert [refund.invoice_id for page in pages for refund in page] == paid[::-1]
    assert all(refund.status == "SUCCEEDED" for page in pages for refund in page)


async def test_a_pacer_retries_a_429_after_rate_limit_reset(sandbox_url: Callable[..., str]) -> None:
    url = sandbox_url("xendit", secret_key=KEY, rate_limit=1, rate_limit_window_seconds=1)
    async with XenditClient(url, KEY) as eager:
        await eager.find_invoices(external_id="a")  # another client spent the budget
    pacer = RateLimitPacer()
    async with XenditClient(url, KEY, pacer=pacer) as xendit:
        found = await xendit.find_invoices(external_id="a")
    assert found == []
    assert pacer.throttled["GET /v2/invoices"] == 1
    assert pacer.requests["GET /v2/invoices"] == 2
