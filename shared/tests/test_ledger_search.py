"""The ledger's indexes and searching them, against moto over HTTP."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from billing_testing.factories import customer, invoice_story
from billing_testing.ledger import record_async
from lovia_billing import RefundSucceeded, XenditCallback, XenditProduct
from lovia_billing.aws import open_aws_clients
from lovia_billing.ledger import IntegrationState, IntegrationStatus, Ledger, LedgerEntry
from lovia_billing.ledger_index import LEDGER_INDEXES, index_attributes
from lovia_billing.ledger_search import (
    EventFilter,
    InvalidSearch,
    LedgerSearch,
    decode_cursor,
    encode_cursor,
    summarize,
)
from lovia_billing.provision import provision
from lovia_billing.topology import Integration, Topology

REGION = "ap-southeast-1"
E, C, M = Integration.ERPNEXT, Integration.CHARTMOGUL, Integration.MAUTIC
AT = datetime(2026, 11, 25, 3, 4, 5, 123456, tzinfo=UTC)


def test_a_refund_is_indexed_by_customer_invoice_and_each_xendit_id() -> None:
    refund = RefundSucceeded.create(
        customer_id="cus_1",
        invoice_id="inv_1",
        xendit_invoice_id="xinv_1",
        payment_id="py-1",
        refund_id="rfd-1",
        currency="IDR",
        amount="50000",
        refunded_at=AT,
    )
    attributes = index_attributes(
        refund.model_dump(mode="json"), event_id=refund.event_id, created_at=AT, correlation_id="req-1"
    )
    assert attributes == {
        "ix_sort": f"2026-11-25T03:04:05.123456Z#{refund.event_id}",
        "ix_day": "2026-11-25",
        "ix_customer": "cus_1",
        "ix_invoice": "inv_1",
        "ix_correlation": "req-1",
        "ix_xendit_1": "xinv_1",
        "ix_xendit_2": "py-1",
        "ix_xendit_3": "rfd-1",
    }


def test_a_callback_is_indexed_by_the_ids_in_its_payload_and_no_empty_key_is_written() -> None:
    callback = XenditCallback.create(
        customer_id="cus_1",
        product=XenditProduct.PAYMENT_REQUEST,
        event="payment.succeeded",
        object_id="py-9",
        key="payment.succeeded|py-9|SUCCEEDED|",
        payload={"data": {"id": "py-9", "payment_request_id": "pr-9", "reference_id": "inv_9"}},
    )
    attributes = index_attributes(
        callback.model_dump(mode="json"), event_id=callback.event_id, created_at=AT, correlation_id=""
    )
    assert attributes["ix_invoice"] == "inv_9"
    assert [attributes.get(f"ix_xendit_{n}") for n in (1, 2, 3)] == ["py-9", "pr-9", None]
    assert "ix_correlation" not in attributes


async def test_search_by_customer_invoice_xendit_and_correlation_id_newest_first(topology: Topology) -> None:
    story = invoice_story("inv_1", "cus_1", xendit_invoice_id="xinv_1", payment_id="py-1")
    other = invoice_story("inv_2", "cus_2", xendit_invoice_id="xinv_2", payment_id="py-2")
    await record_async(topology, story, correlation_id="req-1")
    await record_async(topology, other, correlation_id="req-2")
    newest_first = [e.event_id for e in reversed(story)]
    async with open_aws_clients(REGION) as aws:
        search = LedgerSearch(aws.dynamodb, topology.ledger_table)

        async def ids(**conditions: Any) -> list[str]:
            page = await search.page(EventFilter(**conditions), first=20)
            assert not page.has_next_page
            return [e.event_id for e in page.entries]

        assert await ids(customer_id="cus_1") == newest_first
        assert await ids(invoice_id="inv_1") == newest_first
        assert await ids(correlation_id="req-1") == newest_first
        # The Xendit invoice id is named by issued, callback and payment; the payment id by the last two.
        assert await ids(xendit_id="xinv_1") == newest_first[:3]
        assert await ids(xendit_id="py-1") == newest_first[:2]
        assert await ids(xendit_id="py-1", customer_id="cus_2") == []
        assert await ids(customer_id="nobody") == []
        assert await ids() == [e.event_id for e in reversed([*story, *other])]


async def test_status_and_integration_filters_read_the_current_status(topology: Topology) -> None:
    [requested, issued] = invoice_story("inv_1", "cus_1", xendit_invoice_id="xinv_1")
    outcomes = {
        issued.event_id: {
            E: (IntegrationStatus.DEAD, "PermanentError: 417"),
            C: (IntegrationStatus.DONE, None),
        }
    }
    await record_async(topology, [requested, issued], outcomes)
    async with open_aws_clients(REGION) as aws:
        search = LedgerSearch(aws.dynamodb, topology.ledger_table)
        dead = await search.page(EventFilter(status=IntegrationStatus.DEAD), first=10)
        assert [e.event_id for e in dead.entries] == [issued.event_id]
        assert (
            await search.page(EventFilter(status=IntegrationStatus.DEAD, integration=C), first=10)
        ).entries == []
        erpnext = await search.page(EventFilter(customer_id="cus_1", integration=E), first=10)
        assert [e.event_id for e in erpnext.entries] == [issued.event_id]  # requested went to xendit only
        await Ledger(aws.dynamodb, topology.ledger_table).mark(issued.event_id, E, IntegrationStatus.DONE)
        assert (await search.page(EventFilter(status=IntegrationStatus.DEAD), first=10)).entries == []


async def test_pages_of_a_customer_never_repeat_or_skip_even_while_new_events_arrive(
    topology: Topology,
) -> None:
    events = [customer("cus_p", request_key=f"k{n}") for n in range(23)]
    await record_async(topology, events)
    async with open_aws_clients(REGION) as aws:
        search = LedgerSearch(aws.dynamodb, topology.ledger_table)
        seen: list[str] = []
        after = None
        pages = 0
        while True:
            page = await search.page(EventFilter(customer_id="cus_p"), first=5, after=after)
            seen += [e.event_id for e in page.entries]
            pages += 1
            if pages == 2:  # a newer event arrives between pages: it is before the cursor, not after
                await record_async(topology, [customer("cus_p", request_key="late")])
            if not page.has_next_page:
                break
            after = page.end_cursor
        assert seen == [e.event_id for e in reversed(events)]
        assert pages == 5


async def test_a_page_that_examined_its_maximum_ends_early_with_a_cursor_to_go_on(topology: Topology) -> None:
    events = [customer("cus_m", request_key=f"k{n}") for n in range(12)]
    await record_async(topology, events, {events[0].event_id: {M: (IntegrationStatus.DEAD, "boom")}})
    async with open_aws_clients(REGION) as aws:
        search = LedgerSearch(aws.dynamodb, topology.ledger_table, max_examined=5)
        wanted = EventFilter(customer_id="cus_m", status=IntegrationStatus.DEAD)
        found: list[LedgerEntry] = []
        after, rounds = None, 0
        while True:
            page = await search.page(wanted, first=10, after=after)
            found += page.entries
            rounds += 1
            if not page.has_next_page:
                break
            after = page.end_cursor
        assert [e.event_id for e in found] == [events[0].event_id]
        assert rounds == 3  # 5 + 5 + 2 entries examined


async def test_since_bounds_the_search(topology: Topology) -> None:
    await record_async(topology, [customer("cus_s")])
    async with open_aws_clients(REGION) as aws:
        search = LedgerSearch(aws.dynamodb, topology.ledger_table)
        future = datetime.now(UTC) + timedelta(minutes=5)
        assert (await search.page(EventFilter(customer_id="cus_s", since=future), first=5)).entries == []
        past = datetime.now(UTC) - timedelta(minutes=5)
        assert len((await search.page(EventFilter(customer_id="cus_s", since=past), first=5)).entries) == 1
        assert len((await search.page(EventFilter(since=past), first=5)).entries) == 1


def test_a_cursor_is_short_and_ours_or_refused() -> None:
    event_id = "c7fb6e8e-6388-5312-8204-a615fa0e7599"
    for moment in (
        "2026-11-25T03:04:05.000000Z",
        "2026-11-30T11:17:20.174029Z",
        "1970-01-01T00:00:00.000000Z",
    ):
        key = f"{moment}#{event_id}"
        cursor = encode_cursor(key)
        assert decode_cursor(cursor) == key
        assert len(cursor) <= 48
        assert cursor.replace(".", "").replace("-", "").isalnum()
    for bad in ("nope", f".{event_id}", "-1.x", " 1.x", "not base36.x", "zzzzzzzzzzzzzzzz.x"):
        with pytest.raises(InvalidSearch):
            decode_cursor(bad)


def test_provision_adds_the_indexes_to_a_ledger_made_before_them(aws_endpoint: str) -> None:
    topology = Topology("old" + datetime.now(UTC).strftime("%H%M%S%f"))
    dynamodb: Any = boto3.client("dynamodb", region_name=REGION)
    dynamodb.create_table(
        TableName=topology.ledger_table,
        AttributeDefinitions=[{"AttributeName": "event_id", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "event_id", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
    )
    provision(topology, region=REGION)
    table = dynamodb.describe_table(TableName=topology.ledger_table)["Table"]
    assert {i["IndexName"] for i in table["GlobalSecondaryIndexes"]} == {i.name for i in LEDGER_INDEXES}
    provision(topology, region=REGION)  # idempotent


def _entry(event_id: str, at: datetime, **states: IntegrationState) -> LedgerEntry:
    return LedgerEntry(
        event_id=event_id,
        event_type="invoice.issued",
        customer_id="cus_1",
        body="{}",
        routed_to=list(states),
        created_at=at,
        integrations=states,
    )


def test_summary_shows_the_most_urgent_status_and_the_latest_error() -> None:
    done = IntegrationState(status=IntegrationStatus.DONE, attempts=1, updated_at=AT)
    summaries = summarize(
        [
            _entry(
                "e2",
                AT,
                erpnext=IntegrationState(status=IntegrationStatus.DEAD, last_error="new", updated_at=AT),
                mautic=done,
            ),
            _entry(
                "e1",
                AT - timedelta(hours=1),
                erpnext=IntegrationState(
                    status=IntegrationStatus.RETRYING, last_error="old", updated_at=AT - timedelta(hours=1)
                ),
            ),
        ]
    )
    erpnext, mautic = summaries
    assert (erpnext.integration, erpnext.status, erpnext.events) == ("erpnext", IntegrationStatus.DEAD, 2)
    assert (erpnext.last_error, erpnext.last_error_event_id) == ("new", "e2")
    assert erpnext.counts == {"dead": 1, "retrying": 1}
    assert (mautic.status, mautic.last_error) == (IntegrationStatus.DONE, None)


async def test_listing_without_a_key_walks_back_a_month_of_days_a_page(topology: Topology) -> None:
    event = customer("cus_w")
    await record_async(topology, [event])
    async with open_aws_clients(REGION) as aws:
        search = LedgerSearch(aws.dynamodb, topology.ledger_table)
        wanted = EventFilter(since=datetime.now(UTC) - timedelta(days=70))
        pages: list[list[str]] = []
        after = None
        while True:
            page = await search.page(wanted, first=10, after=after)
            pages.append([e.event_id for e in page.entries])
            if not page.has_next_page:
                break
            after = page.end_cursor
        assert pages == [[event.event_id], [], []]  # 31 days, 31 more, then the rest down to `since`
        ancient = await search.page(EventFilter(since=datetime(1, 1, 1, tzinfo=UTC)), first=10)
        assert [e.event_id for e in ancient.entries] == [event.event_id]
        assert ancient.has_next_page  # ...and a cursor on towards the year 1 (which stops at 1970)


async def test_ids_no_entry_can_have_find_nothing(topology: Topology) -> None:
    await record_async(topology, [customer("cus_e")])
    async with open_aws_clients(REGION) as aws:
        search = LedgerSearch(aws.dynamodb, topology.ledger_table)
        for wanted in (
            EventFilter(customer_id=""),
            EventFilter(xendit_id="x" * 3000),
            EventFilter(invoice_id=""),
        ):
            page = await search.page(wanted, first=5)
            assert (page.entries, page.has_next_page) == ([], False)
