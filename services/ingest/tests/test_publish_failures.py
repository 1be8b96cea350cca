"""When SQS does not take an event, the ledger says so: ``not_queued``, never a phantom ``queued``.

SQS fails for real here: a queue is deleted in the stand-in while the ingest holds its URL, so
every send to it is refused by the stand-in (``NonExistentQueue``), as after a misconfiguration.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import httpx
import pytest

from billing_testing.queues import QueueReader
from billing_testing.samples import CUSTOMER, INVOICE_PAID_CALLBACK, INVOICE_REQUEST
from lovia_billing import EventType, InvoiceRequested, derive_event_id, parse_event
from lovia_billing.aws import open_aws_clients
from lovia_billing.ledger import SEND_GRACE_SECONDS, IntegrationStatus, Ledger
from lovia_billing.provision import provision
from lovia_billing.topology import Integration, Topology

REGION = "ap-southeast-1"


@pytest.fixture
def break_queue(topology: Topology, queues: QueueReader) -> Callable[[str], None]:
    """Delete one source queue in the stand-in (the ingest keeps sending to its URL)."""

    def delete(integration: str) -> None:
        queues.sqs.delete_queue(QueueUrl=queues.url(integration))

    return delete


def restore_queues(topology: Topology) -> None:
    provision(topology, region=REGION)  # recreates the queue under the same name and URL


def status(api: httpx.Client, event_id: str) -> dict[str, Any]:
    response = api.get(f"/v1/events/{event_id}")
    assert response.status_code == 200, response.text
    integrations: dict[str, Any] = response.json()["integrations"]
    return integrations


def test_a_queue_that_refuses_gives_503_not_queued_and_a_retry_queues_it(
    api: httpx.Client, queues: QueueReader, topology: Topology, break_queue: Callable[[str], None]
) -> None:
    headers = {"Idempotency-Key": "customer-during-outage"}
    event_id = derive_event_id(EventType.CUSTOMER_UPSERTED.value, "cus_out", headers["Idempotency-Key"])
    break_queue("mautic")

    failed = api.put("/v1/customers/cus_out", json=CUSTOMER, headers=headers)

    assert failed.status_code == 503, failed.text
    assert failed.json()["error"]["code"] == "unavailable"
    during = status(api, event_id)
    assert during["mautic"]["status"] == "not_queued"
    assert "NonExistentQueue" in during["mautic"]["last_error"]
    assert topology.queue_name("mautic") in during["mautic"]["last_error"]
    assert during["erpnext"]["status"] == during["chartmogul"]["status"] == "queued"
    assert queues.count("erpnext") == queues.count("chartmogul") == 1

    restore_queues(topology)
    retried = api.put("/v1/customers/cus_out", json=CUSTOMER, headers=headers)

    assert retried.status_code == 202, retried.text  # the 503 released the key: the retry went on
    assert retried.json()["event_id"] == event_id
    after = status(api, event_id)
    assert {name: state["status"] for name, state in after.items()} == {
        "erpnext": "queued",
        "chartmogul": "queued",
        "mautic": "queued",
    }
    assert after["mautic"]["last_error"] is None
    delivered = queues.peek("mautic")
    assert [parse_event(m["Body"]).event_id for m in delivered] == [event_id]
    # The queues that had it already dropped the second copy (content-based deduplication).
    assert queues.count("erpnext") == queues.count("chartmogul") == 1


def test_an_invoice_whose_only_queue_refuses_is_not_queued_until_retried(
    api: httpx.Client, queues: QueueReader, topology: Topology, break_queue: Callable[[str], None]
) -> None:
    event_id = derive_event_id(EventType.INVOICE_REQUESTED.value, INVOICE_REQUEST["invoice_id"])
    break_queue("xendit")

    failed = api.post("/v1/invoices", json=INVOICE_REQUEST)

    assert failed.status_code == 503, failed.text
    assert status(api, event_id)["xendit"]["status"] == "not_queued"
    # Retrying while the queue is still gone: still 503, still not_queued, never queued.
    assert api.post("/v1/invoices", json=INVOICE_REQUEST).status_code == 503
    assert status(api, event_id)["xendit"]["status"] == "not_queued"

    restore_queues(topology)
    retried = api.post("/v1/invoices", json=INVOICE_REQUEST)

    assert retried.status_code == 202, retried.text
    assert status(api, event_id)["xendit"]["status"] == "queued"
    assert [parse_event(m["Body"]).event_id for m in queues.peek("xendit")] == [event_id]


def test_a_callback_whose_queue_refuses_is_503_so_xendit_retries_it(
    client: httpx.Client,
    api: httpx.Client,
    queues: QueueReader,
    topology: Topology,
    break_queue: Callable[[str], None],
) -> None:
    headers = {"x-callback-token": "test-callback-token"}
    break_queue("xendit")
    failed = client.post("/webhooks/xendit/invoice", json=INVOICE_PAID_CALLBACK, headers=headers)
    assert failed.status_code == 503, failed.text
    assert failed.json()["error"]["code"] == "unavailable"

    restore_queues(topology)
    retried = client.post("/webhooks/xendit/invoice", json=INVOICE_PAID_CALLBACK, headers=headers)
    assert retried.status_code == 200, retried.text
    assert status(api, retried.json()["event_id"])["xendit"]["status"] == "queued"
    assert queues.count("xendit") == 1


def _recorded_but_never_sent(topology: Topology, event: InvoiceRequested, age_seconds: float) -> None:
    """What an ingest that died between the ledger write and the send leaves behind."""

    async def record() -> None:
        async with open_aws_clients(REGION) as aws:
            await Ledger(aws.dynamodb, topology.ledger_table).record_queued(
                event, [Integration.XENDIT], correlation_id="crashed"
            )

    asyncio.run(record())
    written = datetime.now(UTC) - timedelta(seconds=age_seconds)
    boto3.client("dynamodb", region_name=REGION).update_item(
        TableName=topology.ledger_table,
        Key={"event_id": {"S": event.event_id}},
        UpdateExpression="SET created_at = :at",
        ExpressionAttributeValues={":at": {"S": written.isoformat()}},
    )


def _requested(**changes: Any) -> InvoiceRequested:
    return InvoiceRequested.create(**{**INVOICE_REQUEST, **changes})


def test_an_entry_left_by_a_crash_between_ledger_and_queue_reads_not_queued_after_the_grace(
    api: httpx.Client, queues: QueueReader, topology: Topology
) -> None:
    crashed = _requested()
    _recorded_but_never_sent(topology, crashed, age_seconds=SEND_GRACE_SECONDS + 30)
    fresh = _requested(invoice_id="inv_still_sending")
    _recorded_but_never_sent(topology, fresh, age_seconds=1)

    stale = status(api, crashed.event_id)["xendit"]
    assert stale["status"] == "not_queued"
    assert "send the same request again" in stale["last_error"]
    # Within the grace period the send may still be under way: no verdict yet.
    assert status(api, fresh.event_id)["xendit"]["status"] == "queued"
    assert queues.count("xendit") == 0

    retried = api.post("/v1/invoices", json=INVOICE_REQUEST)

    assert retried.status_code == 202, retried.text
    assert retried.json()["event_id"] == crashed.event_id
    assert status(api, crashed.event_id)["xendit"] == {
        "status": "queued",
        "attempts": 0,
        "last_error": None,
        "updated_at": None,
    }
    assert [parse_event(m["Body"]).event_id for m in queues.peek("xendit")] == [crashed.event_id]


def test_a_consumer_mark_overrides_not_queued(
    api: httpx.Client, topology: Topology, break_queue: Callable[[str], None]
) -> None:
    break_queue("xendit")
    assert api.post("/v1/invoices", json=INVOICE_REQUEST).status_code == 503
    event_id = derive_event_id(EventType.INVOICE_REQUESTED.value, INVOICE_REQUEST["invoice_id"])
    assert status(api, event_id)["xendit"]["status"] == "not_queued"

    async def consumer_marks() -> None:  # e.g. the send had in fact gone through (a lost answer)
        async with open_aws_clients(REGION) as aws:
            ledger = Ledger(aws.dynamodb, topology.ledger_table)
            await ledger.mark(event_id, Integration.XENDIT, IntegrationStatus.PROCESSING, attempt=1)

    asyncio.run(consumer_marks())
    assert status(api, event_id)["xendit"]["status"] == "processing"
