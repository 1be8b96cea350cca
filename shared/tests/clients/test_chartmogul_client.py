"""The ChartMogul client against the ChartMogul sandbox on loopback."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime

import httpx
import pytest

from lovia_billing import DownstreamTimeout, DownstreamUnavailable, PermanentError, RateLimited
from lovia_billing.clients.chartmogul import (
    RATE_WINDOW_SECONDS,
    AlreadyExists,
    ChartMogulClient,
    ChartMogulRejected,
    CustomerUpdate,
    NewCustomer,
    NewInvoice,
    NewLineItem,
    NewPlan,
    NewTransaction,
    field_errors,
    is_already_exists,
)

KEY = "client-test-key"
DS = "ds_client_test"
JAN = datetime(2025, 1, 1, tzinfo=UTC)
FEB = datetime(2025, 2, 1, tzinfo=UTC)


@pytest.fixture
def base_url(sandbox_url: Callable[..., str]) -> str:
    return sandbox_url("chartmogul", api_key=KEY, data_source_uuid=DS)


@pytest.fixture
async def client(base_url: str) -> AsyncIterator[ChartMogulClient]:
    async with ChartMogulClient(base_url, KEY, retries=0) as client:
        yield client


def _fault(base_url: str, **rule: object) -> None:
    httpx.post(f"{base_url}/_sandbox/faults", json=rule).raise_for_status()


def _rules(base_url: str) -> list[dict[str, object]]:
    rules: list[dict[str, object]] = httpx.get(f"{base_url}/_sandbox/faults").json()
    return rules


def _invoice(plan_uuid: str, external_id: str = "inv_1") -> NewInvoice:
    line = NewLineItem(
        type="subscription",
        external_id=f"{external_id}:basic",
        subscription_external_id="sub_1",
        plan_uuid=plan_uuid,
        service_period_start=JAN,
        service_period_end=FEB,
        amount_in_cents=15_000_000,
    )
    return NewInvoice(external_id=external_id, date=JAN, currency="IDR", line_items=[line])


async def _customer_and_plan(client: ChartMogulClient) -> tuple[str, str]:
    customer = await client.create_customer(NewCustomer(data_source_uuid=DS, external_id="cus_1", name="Ani"))
    plan = NewPlan(
        data_source_uuid=DS, external_id="basic", name="Basic", interval_count=1, interval_unit="month"
    )
    return customer.uuid, (await client.create_plan(plan)).uuid


async def test_customer_is_created_found_and_updated(client: ChartMogulClient) -> None:
    assert await client.ping() is True
    assert await client.find_customer(DS, "cus_1") is None
    created = await client.create_customer(
        NewCustomer(data_source_uuid=DS, external_id="cus_1", name="Ani", email="ani@example.id")
    )
    found = await client.find_customer(DS, "cus_1")
    assert found is not None
    assert (found.uuid, found.email, found.company) == (created.uuid, "ani@example.id", "")
    updated = await client.update_customer(created.uuid, CustomerUpdate(company="Lovia", country="ID"))
    assert (updated.company, updated.country, updated.name) == ("Lovia", "ID", "Ani")


async def test_a_second_create_raises_already_exists_naming_our_id(client: ChartMogulClient) -> None:
    new = NewCustomer(data_source_uuid=DS, external_id="cus_1", name="Ani")
    await client.create_customer(new)
    with pytest.raises(AlreadyExists) as caught:
        await client.create_customer(new)
    assert (caught.value.resource, caught.value.external_id) == ("customer", "cus_1")
    assert isinstance(caught.value, PermanentError)


async def test_invoice_import_twice_is_already_exists_and_stored_once(client: ChartMogulClient) -> None:
    customer_uuid, plan_uuid = await _customer_and_plan(client)
    stored = await client.import_invoice(customer_uuid, _invoice(plan_uuid))
    assert stored.uuid.startswith("inv_")
    assert stored.line_items[0].amount_in_cents == 15_000_000
    with pytest.raises(AlreadyExists) as caught:
        await client.import_invoice(customer_uuid, _invoice(plan_uuid))
    assert caught.value.resource == "invoice"
    assert caught.value.errors["external_id"] == [
        "The external ID for this invoice already exists in our system."
    ]
    assert [i.external_id for i in await client.list_customer_invoices(customer_uuid)] == ["inv_1"]
    found = await client.find_invoice(DS, "inv_1")
    assert found is not None
    assert found.uuid == stored.uuid


async def test_any_other_422_is_permanent_and_not_already_exists(client: ChartMogulClient) -> None:
    customer_uuid, _ = await _customer_and_plan(client)
    with pytest.raises(ChartMogulRejected) as caught:
        await client.import_invoice(customer_uuid, _invoice("pl_missing"))
    assert not isinstance(caught.value, AlreadyExists)
    assert caught.value.status == 422
    assert "line_items.plan_uuid" in caught.value.errors


async def test_transactions_and_cancellation_dates(client: ChartMogulClient) -> None:
    customer_uuid, plan_uuid = await _customer_and_plan(client)
    invoice = await client.import_invoice(customer_uuid, _invoice(plan_uuid))
    payment = NewTransaction(
        type="payment", result="successful", date=JAN, external_id="pay_1", amount_in_cents=1
    )
    assert (await client.add_transaction(invoice.uuid, payment)).external_id == "pay_1"
    with pytest.raises(AlreadyExists):
        await client.add_transaction(invoice.uuid, payment)
    [subscription] = await client.list_subscriptions(customer_uuid)
    assert subscription.external_id == "sub_1"
    cancelled = await client.set_cancellation_dates(subscription.uuid, [datetime(2025, 1, 20, tzinfo=UTC)])
    assert cancelled.cancellation_dates == [datetime(2025, 1, 20, tzinfo=UTC)]


async def test_wrong_key_is_permanent(base_url: str) -> None:
    async with ChartMogulClient(base_url, "wrong", retries=0) as client:
        with pytest.raises(ChartMogulRejected) as caught:
            await client.ping()
    assert caught.value.status == 401
    assert "No valid API key provided" in str(caught.value)
    assert "wrong" not in str(caught.value)


async def test_injected_429_carries_no_header_and_waits_the_one_second_window(
    client: ChartMogulClient, base_url: str
) -> None:
    _fault(base_url, kind="rate_limit", path="/v1/ping", retry_after=7)  # ChartMogul would not say 7
    with pytest.raises(RateLimited) as caught:
        await client.ping()
    assert caught.value.retry_after == RATE_WINDOW_SECONDS


def test_a_retry_after_on_a_429_would_be_honoured_should_chartmogul_ever_send_one() -> None:
    request = httpx.Request("GET", "https://api.chartmogul.com/v1/ping")
    response = httpx.Response(429, headers={"Retry-After": "7"}, json={"code": 429}, request=request)
    with pytest.raises(RateLimited) as caught:
        ChartMogulClient._raise(response, resource="", external_id="")
    assert caught.value.retry_after == 7.0


async def test_chartmogul_429_without_retry_after_waits_the_one_second_window(
    sandbox_url: Callable[..., str],
) -> None:
    base_url = sandbox_url("chartmogul", api_key=KEY, rate_limit_per_second=1)
    async with ChartMogulClient(base_url, KEY, retries=0) as client:
        await client.ping()
        with pytest.raises(RateLimited) as caught:
            await client.ping()
    assert caught.value.retry_after == RATE_WINDOW_SECONDS == 1.0


async def test_503_is_retryable_unavailable(client: ChartMogulClient, base_url: str) -> None:
    _fault(base_url, kind="status", status=503, path="/v1/ping")
    with pytest.raises(DownstreamUnavailable) as caught:
        await client.ping()
    assert "503" in str(caught.value)
    assert caught.value.retry_after is None  # no header: the runtime's exponential backoff decides


async def test_a_short_burst_of_429_and_503_is_retried_in_process(base_url: str) -> None:
    _fault(base_url, kind="rate_limit", path="/v1/ping", count=1, retry_after=0)
    _fault(base_url, kind="status", status=503, path="/v1/ping", count=1)
    async with ChartMogulClient(base_url, KEY, retries=2, backoff=0.01) as client:
        assert await client.ping() is True
    fired = {rule["kind"]: rule["fired"] for rule in _rules(base_url)}
    assert fired == {"rate_limit": 1, "status": 1}


async def test_a_hung_request_is_a_timeout(base_url: str) -> None:
    _fault(base_url, kind="timeout", path="/v1/ping", hang_ms=1000)
    async with ChartMogulClient(base_url, KEY, timeout=httpx.Timeout(0.2)) as client:
        with pytest.raises(DownstreamTimeout):
            await client.ping()


async def test_base_url_may_include_v1(base_url: str) -> None:
    async with ChartMogulClient(f"{base_url}/v1/", KEY) as client:
        assert await client.ping() is True


def test_already_exists_needs_the_resource_itself_to_exist() -> None:
    invoice_exists = "The external ID for this invoice already exists in our system."
    line_exists = "The external ID for this line item already exists in our system."
    assert is_already_exists({"external_id": [invoice_exists], "line_items.external_id": [line_exists]})
    assert is_already_exists({"external_id": ["has already been taken"]})
    # A new invoice that reuses a transaction id is a different problem (the Go client's rule).
    assert not is_already_exists({"transactions.external_id": ["has already been taken"]})
    assert not is_already_exists({"external_id": [invoice_exists], "currency": ["is not valid"]})
    assert not is_already_exists({})


def test_field_errors_reads_every_422_shape() -> None:
    assert field_errors({"errors": {"name": "taken"}}) == {"name": ["taken"]}
    assert field_errors({"invoices": [{"external_id": "x", "errors": {"date": ["bad"]}}]}) == {
        "date": ["bad"]
    }
    newer = {"name": ["Name can't be blank"], "error_details": [{"param": "name"}]}
    assert field_errors(newer) == {"name": ["Name can't be blank"]}
