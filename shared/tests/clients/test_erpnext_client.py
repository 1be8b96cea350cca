"""The ERPNext client against the ERPNext sandbox over HTTP: error mapping, idempotent writes, set-up."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from decimal import Decimal
from typing import Any

import httpx
import pytest

from lovia_billing import DownstreamTimeout, DownstreamUnavailable, RateLimited
from lovia_billing.clients.erpnext import (
    CUSTOM_FIELDS,
    Customer,
    ErpnextClient,
    ErpnextConflict,
    ErpnextRejected,
    SalesInvoice,
    SalesInvoiceItem,
    ensure_custom_fields,
)

KEY, SECRET = "local-erpnext-key", "local-erpnext-secret"


@pytest.fixture
def base(sandbox_url: Callable[..., str]) -> str:
    return sandbox_url("erpnext")


@pytest.fixture
async def client(base: str) -> AsyncIterator[ErpnextClient]:
    async with ErpnextClient(base, KEY, SECRET) as erpnext:
        yield erpnext


def fault(base: str, **rule: Any) -> None:
    httpx.post(f"{base}/_sandbox/faults", json=rule).raise_for_status()


def documents(base: str, doctype: str) -> list[dict[str, Any]]:
    state = httpx.get(f"{base}/_sandbox/state", params={"doctype": doctype}).json()
    docs: list[dict[str, Any]] = state["documents"][doctype]
    return docs


def acme(customer_id: str = "cus_1") -> Customer:
    return Customer(customer_name="Acme", custom_lovia_customer_id=customer_id)


async def test_typed_documents_round_trip_with_decimal_money(client: ErpnextClient) -> None:
    created = await client.create_customer(acme())
    invoice = SalesInvoice(
        customer=str(created.name),
        items=[SalesInvoiceItem(item_code="PLAN-PRO", qty=Decimal(3), rate=Decimal("1499.95"))],
        disable_rounded_total=1,
        custom_lovia_invoice_id="inv_1",
        docstatus=1,
    )
    stored = await client.create_sales_invoice(invoice)
    assert stored.grand_total == Decimal("4499.85")
    assert isinstance(stored.outstanding_amount, Decimal)
    found = await client.find_sales_invoice("inv_1")
    assert found is not None
    assert (found.name, found.status) == (stored.name, "Unpaid")
    assert await client.find_customer("cus_unknown") is None
    assert await client.get_doc("Customer", "Nobody") is None


async def test_insert_once_never_creates_a_second_document(base: str, client: ErpnextClient) -> None:
    first = await client.create_customer(acme())
    again = await client.create_customer(acme())
    assert again.name == first.name
    fault(base, kind="commit_then_fail", method="POST", path="/api/resource/Customer", count=1)
    lost = await client.create_customer(acme("cus_2"))
    assert lost.custom_lovia_customer_id == "cus_2"
    assert sorted(doc["custom_lovia_customer_id"] for doc in documents(base, "Customer")) == [
        "cus_1",
        "cus_2",
    ]


async def test_a_unique_conflict_is_retryable_and_names_the_field(client: ErpnextClient) -> None:
    await client.insert("Customer", acme().payload())
    with pytest.raises(ErpnextConflict) as caught:
        await client.insert("Customer", acme().payload())
    assert caught.value.exc_type == "UniqueValidationError"
    assert caught.value.messages == ["Lovia Customer ID must be unique"]


async def test_429_raises_rate_limited_with_retry_after(base: str, client: ErpnextClient) -> None:
    fault(base, kind="rate_limit", retry_after=7, count=1)
    with pytest.raises(RateLimited) as caught:
        await client.find_customer("cus_1")
    assert caught.value.retry_after == 7.0


@pytest.mark.parametrize(
    ("status", "text"),
    [(500, "QueryDeadlockError"), (502, "502 Bad Gateway"), (417, "TimestampMismatchError")],
)
async def test_deadlocks_proxies_and_stale_timestamps_are_retryable(
    base: str, client: ErpnextClient, status: int, text: str
) -> None:
    fault(base, kind="status", status=status, count=1)
    with pytest.raises(DownstreamUnavailable) as caught:
        await client.find_customer("cus_1")
    assert text in str(caught.value)


async def test_validation_errors_are_permanent_with_erpnext_words(client: ErpnextClient) -> None:
    await client.create_customer(acme())
    bad = SalesInvoice(
        customer="Acme", items=[SalesInvoiceItem(item_code="NOPE", qty=Decimal(1), rate=Decimal(1))]
    )
    with pytest.raises(ErpnextRejected) as caught:
        await client.insert("Sales Invoice", bad.payload())
    assert caught.value.exc_type == "LinkValidationError"
    assert caught.value.messages == ["Could not find Row #1: Item Code: NOPE"]
    assert "Could not find Row #1: Item Code: NOPE" in str(caught.value)


async def test_wrong_credentials_are_permanent(base: str) -> None:
    async with ErpnextClient(base, KEY, "wrong") as wrong:
        with pytest.raises(ErpnextRejected) as caught:
            await wrong.logged_user()
    assert caught.value.status == 401
    async with ErpnextClient(base, KEY, SECRET) as right:
        assert await right.logged_user() == "lovia-billing@example.com"


async def test_a_timeout_is_downstream_timeout(base: str) -> None:
    fault(base, kind="timeout", hang_ms=2000, count=1)
    async with ErpnextClient(base, KEY, SECRET, timeout=httpx.Timeout(0.3)) as slow:
        with pytest.raises(DownstreamTimeout):
            await slow.find_customer("cus_1")


async def test_submit_after_a_lost_answer_reads_back(base: str, client: ErpnextClient) -> None:
    await client.create_customer(acme())
    draft = SalesInvoice(
        customer="Acme",
        items=[SalesInvoiceItem(item_code="PLAN-PRO", qty=Decimal(1), rate=Decimal(10))],
        custom_lovia_invoice_id="inv_1",
    )
    created = await client.create_sales_invoice(draft)
    assert created.is_draft
    fault(base, kind="commit_then_fail", method="PUT", count=1)
    submitted = await client.submit_sales_invoice(str(created.name))
    assert submitted.is_submitted


async def test_ensure_custom_fields_creates_then_leaves_them(sandbox_url: Callable[..., str]) -> None:
    base = sandbox_url("erpnext", seed_custom_fields=False)
    async with ErpnextClient(base, KEY, SECRET) as bare:
        with pytest.raises(ErpnextRejected, match="billing erpnext setup"):
            await bare.find_customer("cus_1")
        first = await ensure_custom_fields(bare)
        second = await ensure_custom_fields(bare)
        await bare.update("Custom Field", "Customer-custom_lovia_customer_id", {"unique": 0})
        third = await ensure_custom_fields(bare)
        await bare.create_customer(acme())
        with pytest.raises(ErpnextConflict):
            await bare.insert("Customer", acme().payload())
    assert set(first.values()) == {"created"}
    assert len(first) == len(CUSTOM_FIELDS)
    assert set(second.values()) == {"unchanged"}
    assert third["Customer-custom_lovia_customer_id"] == "updated"
