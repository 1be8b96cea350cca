"""chartmogul_sync's handlers against the ChartMogul sandbox over HTTP, called as the runtime calls them."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from chartmogul_events import cancellation, customer, expiry, invoice, payment, refund

from billing_testing.context import RecordingContext
from chartmogul_sync.app import build
from chartmogul_sync.settings import ChartmogulSyncSettings
from lovia_billing import (
    DomainEvent,
    DownstreamUnavailable,
    Integration,
    RateLimited,
    RetryableError,
)
from lovia_billing.clients.chartmogul import ChartMogulClient, ChartMogulRejected
from lovia_billing.consumer import IntegrationApp

KEY = "sync-test-key"
DS = "ds_sync_test"


@pytest.fixture
def base_url(sandbox_url: Callable[..., str]) -> str:
    # A high rate limit: these tests are about our handlers, the limit has tests of its own below.
    return sandbox_url("chartmogul", api_key=KEY, data_source_uuid=DS, rate_limit_per_second=100_000)


def _settings(base_url: str) -> ChartmogulSyncSettings:
    return ChartmogulSyncSettings(
        chartmogul_base_url=base_url, chartmogul_api_key=KEY, chartmogul_data_source_uuid=DS
    )


@pytest.fixture
async def app(base_url: str) -> AsyncIterator[IntegrationApp]:
    # No in-process retries: every failure goes back to the "runtime" (``deliver``), as a redelivery.
    async with ChartMogulClient(base_url, KEY, retries=0) as client:
        yield build(_settings(base_url), client)


async def deliver(app: IntegrationApp, event: DomainEvent, *, times: int = 1) -> None:
    """Deliver ``event`` ``times`` times; retryable failures are redelivered like SQS would."""
    for _ in range(times):
        attempt = 1
        while True:
            ctx = RecordingContext(Integration.CHARTMOGUL, attempt=attempt)
            try:
                await app.handlers[event.event_type](event, ctx)
                break
            except RetryableError:
                if attempt >= 5:
                    raise
                attempt += 1
        assert ctx.published == []  # chartmogul_sync publishes nothing


def _month() -> list[DomainEvent]:
    return [customer(), customer(name="Ani L."), invoice(), payment(), cancellation()]


def _state(base_url: str) -> dict[str, Any]:
    state: dict[str, Any] = httpx.get(f"{base_url}/_sandbox/state").json()
    return state


def _add_fault(base_url: str, **rule: object) -> None:
    httpx.post(f"{base_url}/_sandbox/faults", json=rule).raise_for_status()


def _faults(base_url: str) -> list[dict[str, Any]]:
    rules: list[dict[str, Any]] = httpx.get(f"{base_url}/_sandbox/faults").json()
    return rules


def summary(base_url: str) -> dict[str, Any]:
    state = _state(base_url)
    return {
        "customers": [
            (c["external_id"], c["name"], c["email"], c["data_source_uuid"]) for c in state["customers"]
        ],
        "plans": [(p["external_id"], p["interval_count"], p["interval_unit"]) for p in state["plans"]],
        "invoices": [
            (
                i["external_id"],
                i["currency"],
                [(li["subscription_external_id"], li["amount_in_cents"]) for li in i["line_items"]],
                [(t["external_id"], t["result"], t["amount_in_cents"]) for t in i["transactions"]],
            )
            for i in state["invoices"]
        ],
        "subscriptions": [(s["external_id"], s["cancellation_dates"]) for s in state["subscriptions"]],
    }


EXPECTED = {
    "customers": [("cus_0001", "Ani L.", "ani@example.id", DS)],
    "plans": [("basic", 1, "month")],
    "invoices": [
        ("inv_2025_01", "IDR", [("sub_0001", 15_000_000)], [("pay_xnd_1", "successful", 15_000_000)]),
    ],
    "subscriptions": [("sub_0001", ["2025-01-20T12:00:00.000Z"])],
}


async def test_a_month_gives_one_customer_plan_invoice_payment_and_cancellation(
    app: IntegrationApp, base_url: str
) -> None:
    for event in _month():
        await deliver(app, event)
    assert summary(base_url) == EXPECTED


async def test_every_event_three_times_changes_nothing_more(app: IntegrationApp, base_url: str) -> None:
    for event in _month():
        await deliver(app, event)
    once = _state(base_url)
    for event in _month():
        await deliver(app, event, times=3)
    assert _state(base_url) == once
    assert summary(base_url) == EXPECTED


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/v1/customers"),
        ("PATCH", "/v1/customers/"),
        ("POST", "/v1/plans"),
        ("POST", "/v1/import/customers/"),
        ("POST", "/v1/import/invoices/"),
        ("PATCH", "/v1/import/subscriptions/"),
    ],
)
async def test_commit_then_fail_on_each_write_still_gives_one_of_each(
    app: IntegrationApp, base_url: str, method: str, path: str
) -> None:
    _add_fault(base_url, kind="commit_then_fail", method=method, path=path, count=1, status=504)
    for event in _month():
        await deliver(app, event)
    [fault] = _faults(base_url)
    assert fault["fired"] == 1  # the write was committed and its answer lost
    assert summary(base_url) == EXPECTED


async def test_an_expired_invoice_is_a_failed_transaction_and_a_late_payment_follows(
    app: IntegrationApp, base_url: str
) -> None:
    for event in (customer(), invoice(), expiry(), expiry(), payment()):
        await deliver(app, event)
    [stored] = summary(base_url)["invoices"]
    assert stored[3] == [
        ("xnd_inv_1:expired", "failed", 15_000_000),
        ("pay_xnd_1", "successful", 15_000_000),
    ]


async def test_an_invoice_before_its_customer_creates_one_customer(
    app: IntegrationApp, base_url: str
) -> None:
    await deliver(app, invoice())
    await deliver(app, customer())
    customers = summary(base_url)["customers"]
    assert customers == [("cus_0001", "Ani Lestari", "ani@example.id", DS)]


async def test_the_customer_event_completes_the_stand_in_made_from_the_invoice(
    app: IntegrationApp, base_url: str
) -> None:
    await deliver(app, invoice(payer_email="kasir@tokoani.id"))
    [stand_in] = _state(base_url)["customers"]
    assert (stand_in["name"], stand_in["email"], stand_in["company"]) == (
        "kasir@tokoani.id",
        "kasir@tokoani.id",
        "",
    )
    await deliver(app, customer(), times=2)
    [completed] = _state(base_url)["customers"]
    assert (completed["uuid"], completed["external_id"]) == (stand_in["uuid"], "cus_0001")
    assert (completed["name"], completed["email"], completed["company"], completed["country"]) == (
        "Ani Lestari",
        "ani@example.id",
        "Toko Ani",
        "ID",
    )
    [stored] = _state(base_url)["invoices"]
    assert stored["customer_uuid"] == stand_in["uuid"]


async def test_a_payment_before_its_invoice_is_retried_later(app: IntegrationApp) -> None:
    await deliver(app, customer())
    ctx = RecordingContext(Integration.CHARTMOGUL)
    with pytest.raises(RetryableError, match="not in ChartMogul yet"):
        await app.handlers[payment().event_type](payment(), ctx)


async def test_a_cancellation_chartmogul_refuses_is_permanent(app: IntegrationApp) -> None:
    for event in (customer(), invoice()):
        await deliver(app, event)
    future = cancellation(at=datetime.now(UTC) + timedelta(days=30))
    with pytest.raises(ChartMogulRejected) as caught:
        await deliver(app, future)
    assert caught.value.status == 422


async def test_cancelling_a_subscription_chartmogul_never_had_changes_nothing(
    app: IntegrationApp, base_url: str
) -> None:
    """It arrives behind its invoices (topology.FORWARDS): none made a subscription, none to end."""
    for event in (customer(), invoice()):
        await deliver(app, event)
    before = _state(base_url)
    await deliver(app, cancellation().model_copy(update={"subscription_id": "sub_unknown"}))
    assert _state(base_url) == before


async def test_429_from_a_fault_is_rate_limited_for_the_one_second_window(
    app: IntegrationApp, base_url: str
) -> None:
    _add_fault(base_url, kind="rate_limit", path="/v1/customers", retry_after=4)
    ctx = RecordingContext(Integration.CHARTMOGUL)
    with pytest.raises(RateLimited) as caught:
        await app.handlers[customer().event_type](customer(), ctx)
    assert caught.value.retry_after == 1.0  # ChartMogul's 429 names no wait, like the sandbox's


async def test_chartmogul_own_429_asks_for_its_one_second_window(sandbox_url: Callable[..., str]) -> None:
    base_url = sandbox_url("chartmogul", api_key=KEY, data_source_uuid=DS, rate_limit_per_second=2)
    async with ChartMogulClient(base_url, KEY, retries=0) as client:
        app = build(_settings(base_url), client)
        ctx = RecordingContext(Integration.CHARTMOGUL)
        with pytest.raises(RateLimited) as caught:
            await app.handlers[invoice().event_type](invoice(), ctx)
    assert caught.value.retry_after == 1.0


async def test_503_is_retryable(app: IntegrationApp, base_url: str) -> None:
    _add_fault(base_url, kind="status", status=503, path="/v1/plans")
    await deliver(app, customer())
    ctx = RecordingContext(Integration.CHARTMOGUL)
    with pytest.raises(DownstreamUnavailable, match="503"):
        await app.handlers[invoice().event_type](invoice(), ctx)
    assert summary(base_url)["invoices"] == []


def test_build_wires_every_event_chartmogul_receives(base_url: str) -> None:
    app = build(_settings(base_url))
    assert app.integration is Integration.CHARTMOGUL
    assert {str(t) for t in app.handlers} == {
        "customer.upserted",
        "invoice.issued",
        "payment.succeeded",
        "refund.succeeded",
        "invoice.expired",
        "subscription.cancelled",
    }
    assert len(app.resources) == 1


# --- partial payments and refunds ------------------------------------------------------------------


def transactions(base_url: str) -> list[tuple[str, str, str, int]]:
    [stored] = _state(base_url)["invoices"]
    return [(t["external_id"], t["type"], t["result"], t["amount_in_cents"]) for t in stored["transactions"]]


async def test_two_partial_payments_are_two_transactions_and_a_redelivery_adds_none(
    app: IntegrationApp, base_url: str
) -> None:
    for event in (customer(), invoice()):
        await deliver(app, event)
    await deliver(app, payment(payment_id="pay_a", amount="60000", fees="0"), times=2)
    await deliver(app, payment(payment_id="pay_b", amount="90000", fees="0"))
    assert transactions(base_url) == [
        ("pay_a", "payment", "successful", 6_000_000),
        ("pay_b", "payment", "successful", 9_000_000),
    ]


async def test_full_and_partial_refunds_are_refund_transactions_once_each(
    app: IntegrationApp, base_url: str
) -> None:
    for event in (customer(), invoice(), payment()):
        await deliver(app, event)
    await deliver(app, refund(refund_id="rfd_part", amount="50000.25"), times=2)
    await deliver(app, refund(refund_id="rfd_rest", amount="99999.75"), times=3)
    assert transactions(base_url) == [
        ("pay_xnd_1", "payment", "successful", 15_000_000),
        ("rfd_part", "refund", "successful", 5_000_025),
        ("rfd_rest", "refund", "successful", 9_999_975),
    ]
    [stored] = _state(base_url)["invoices"]
    assert stored["transactions"][1]["date"] == "2025-01-06T08:00:00.000Z"


async def test_a_refund_whose_answer_is_lost_is_not_added_twice(app: IntegrationApp, base_url: str) -> None:
    for event in (customer(), invoice(), payment()):
        await deliver(app, event)
    _add_fault(
        base_url, kind="commit_then_fail", method="POST", path="/v1/import/invoices/", count=1, status=504
    )
    await deliver(app, refund())
    [fault] = _faults(base_url)
    assert fault["fired"] == 1
    assert [t[:2] for t in transactions(base_url)] == [("pay_xnd_1", "payment"), ("rfd_xnd_1", "refund")]


async def test_a_refund_before_its_invoice_or_payment_is_retried(app: IntegrationApp, base_url: str) -> None:
    await deliver(app, customer())
    ctx = RecordingContext(Integration.CHARTMOGUL)
    handler = app.handlers[refund().event_type]
    with pytest.raises(RetryableError, match="invoice inv_2025_01 is not in ChartMogul yet"):
        await handler(refund(), ctx)
    await deliver(app, invoice())
    with pytest.raises(
        RetryableError, match="transaction pay_xnd_1 of invoice inv_2025_01 is not in ChartMogul yet"
    ):
        await handler(refund(), ctx)
    assert transactions(base_url) == []
    await deliver(app, payment())
    await handler(refund(), ctx)
    assert [t[0] for t in transactions(base_url)] == ["pay_xnd_1", "rfd_xnd_1"]
