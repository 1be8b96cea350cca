"""The facts store over HTTP against the moto stand-in, in the stage's idempotency table."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import boto3
import pytest

from lovia_billing import PermanentError, Topology
from lovia_billing.idempotency import IdempotencyStore
from mautic_sync.store import DynamoFactStore

REGION = "ap-southeast-1"


@pytest.fixture
async def store(tables: Topology) -> AsyncIterator[DynamoFactStore]:
    async with DynamoFactStore(tables.idempotency_table, region=REGION) as opened:
        yield opened


async def test_adding_returns_every_fact_and_a_fact_is_kept_once(store: DynamoFactStore) -> None:
    assert await store.add("cus_1", "a") == {"a"}
    assert await store.add("cus_1", "b") == {"a", "b"}
    assert await store.add("cus_1", "a") == {"a", "b"}
    assert await store.facts("cus_1") == {"a", "b"}


async def test_customers_are_apart_and_an_unknown_one_has_no_facts(store: DynamoFactStore) -> None:
    await store.add("cus_1", "a")
    assert await store.add("cus_2", "b") == {"b"}
    assert await store.facts("cus_3") == frozenset()


async def test_concurrent_adds_lose_nothing(store: DynamoFactStore) -> None:
    facts = [f"fact-{n}" for n in range(20)]
    returned = await asyncio.gather(*(store.add("cus_1", fact) for fact in facts))
    assert all(fact in seen for fact, seen in zip(facts, returned, strict=True))
    assert await store.facts("cus_1") == set(facts)


async def test_the_item_is_one_per_customer_and_leaves_idempotency_records_alone(
    store: DynamoFactStore, tables: Topology
) -> None:
    idempotency = IdempotencyStore(store._client(), tables.idempotency_table)
    await idempotency.mark_done("mautic", "evt-1", owner="w1")
    await store.add("cus_1", "a")
    item = boto3.client("dynamodb", region_name=REGION).get_item(
        TableName=tables.idempotency_table, Key={"pk": {"S": "mautic-facts#cus_1"}}
    )["Item"]
    assert item["facts"] == {"SS": ["a"]}
    assert item["customer_id"] == {"S": "cus_1"}
    assert "expires_at" not in item  # the table's TTL never deletes facts
    record = await idempotency.get("mautic", "evt-1")
    assert record is not None
    assert record.status == "done"


async def test_a_missing_table_is_not_a_permanent_error(tables: Topology) -> None:
    async with DynamoFactStore(f"{tables.stage}-no-such-table", region=REGION) as missing:
        with pytest.raises(Exception, match="ResourceNotFound") as caught:
            await missing.add("cus_1", "a")
    assert not isinstance(caught.value, PermanentError)  # retried: the table may be on its way


async def test_a_store_used_before_it_is_opened_says_so(tables: Topology) -> None:
    with pytest.raises(RuntimeError, match="outside `async with`"):
        await DynamoFactStore(tables.idempotency_table, region=REGION).add("cus_1", "a")


async def test_a_full_item_is_a_permanent_error_naming_the_customer(store: DynamoFactStore) -> None:
    await store.add("cus_1", "a" * 250_000)
    with pytest.raises(PermanentError, match=r"billing fact of customer cus_1: .*size"):
        await store.add("cus_1", "b" * 250_000)
