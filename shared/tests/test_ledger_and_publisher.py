"""The ledger and the publisher against moto over HTTP."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from billing_testing.factories import customer, invoice_requested
from lovia_billing import PublishError, parse_event
from lovia_billing.aws import open_aws_clients
from lovia_billing.ledger import (
    NEVER_SENT,
    SEND_GRACE_SECONDS,
    IntegrationStatus,
    Ledger,
    LedgerConflict,
    LedgerEntry,
    entry_from_item,
)
from lovia_billing.provision import provision
from lovia_billing.publisher import Publisher
from lovia_billing.topology import Integration, Topology

REGION = "ap-southeast-1"


def drain(topology: Topology, integration: Integration) -> list[dict]:
    sqs = boto3.client("sqs", region_name=REGION)
    url = sqs.get_queue_url(QueueName=topology.queue_name(integration))["QueueUrl"]
    messages: list[dict] = []
    while True:
        got = sqs.receive_message(
            QueueUrl=url,
            MaxNumberOfMessages=10,
            WaitTimeSeconds=0,
            AttributeNames=["MessageGroupId"],
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        if not got:
            return messages
        messages += got
        for message in got:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])


async def test_event_for_three_integrations_lands_once_in_each_queue_grouped_by_customer(
    topology: Topology,
) -> None:
    event = customer("cus_42")
    async with open_aws_clients(REGION) as aws:
        ledger = Ledger(aws.dynamodb, topology.ledger_table)
        publisher = Publisher(aws.sqs, topology, ledger)
        await publisher.publish(event, correlation_id="corr-1")
        await publisher.publish(event, correlation_id="corr-2")  # a retry: deduplicated by content
        entry = await ledger.get(event.event_id)

    for integration in (Integration.ERPNEXT, Integration.CHARTMOGUL, Integration.MAUTIC):
        messages = drain(topology, integration)
        assert len(messages) == 1, integration
        assert messages[0]["Attributes"]["MessageGroupId"] == "cus_42"
        assert parse_event(messages[0]["Body"]) == event
        assert messages[0]["MessageAttributes"]["correlation_id"]["StringValue"] == "corr-1"
    assert drain(topology, Integration.XENDIT) == []
    assert entry is not None
    assert entry.routed_to == ["erpnext", "chartmogul", "mautic"]
    assert {s.status for s in entry.integrations.values()} == {IntegrationStatus.QUEUED}
    assert json.loads(entry.body)["customer_id"] == "cus_42"


async def test_ledger_refuses_the_same_id_with_another_body(topology: Topology) -> None:
    first = invoice_requested("inv_9")
    other = invoice_requested("inv_9", description="something else")
    assert first.event_id == other.event_id
    async with open_aws_clients(REGION) as aws:
        ledger = Ledger(aws.dynamodb, topology.ledger_table)
        await ledger.record_queued(first, [Integration.XENDIT], correlation_id="c")
        await ledger.record_queued(first, [Integration.XENDIT], correlation_id="c")  # same body: fine
        with pytest.raises(LedgerConflict):
            await ledger.record_queued(other, [Integration.XENDIT], correlation_id="c")


async def test_done_is_final_and_errors_are_kept(topology: Topology) -> None:
    event = invoice_requested("inv_10")
    async with open_aws_clients(REGION) as aws:
        ledger = Ledger(aws.dynamodb, topology.ledger_table)
        await ledger.record_queued(event, [Integration.XENDIT], correlation_id="c")
        await ledger.mark(
            event.event_id, Integration.XENDIT, IntegrationStatus.RETRYING, attempt=1, error="502"
        )
        retrying = await ledger.get(event.event_id)
        await ledger.mark(event.event_id, Integration.XENDIT, IntegrationStatus.DONE, attempt=2)
        await ledger.mark(event.event_id, Integration.XENDIT, IntegrationStatus.PROCESSING, attempt=3)
        await ledger.record_queued(event, [Integration.XENDIT], correlation_id="c")
        done = await ledger.get(event.event_id)
    assert retrying is not None
    assert done is not None
    assert retrying.integrations["xendit"].last_error == "502"
    assert done.integrations["xendit"].status is IntegrationStatus.DONE
    assert done.integrations["xendit"].attempts == 2
    assert done.integrations["xendit"].last_error is None


async def test_missing_queue_is_a_publish_error_not_a_silent_success(aws_endpoint: str) -> None:
    topology = Topology("nosuchstage")
    async with open_aws_clients(REGION) as aws:
        publisher = Publisher(aws.sqs, topology)
        with pytest.raises(Exception, match=r"NonExistentQueue|does not exist"):
            await publisher.publish(customer(), correlation_id="c")


def test_a_partial_batch_failure_resends_the_failed_entries_and_their_groups_followers() -> None:
    from lovia_billing.publisher import _Entry, _resend_after_failure

    a1, b1, a2, b2, c1 = (
        _Entry(customer(c, request_key=k), "", "corr")
        for c, k in (("a", "1"), ("b", "1"), ("a", "2"), ("b", "2"), ("c", "1"))
    )
    batch = [a1, b1, a2, b2, c1]
    # a1 failed: a2 must go again after it, b and c stay sent.
    assert _resend_after_failure(batch, {0}) == [a1, a2]
    # b2 failed alone: only b2; b1 before it had gone.
    assert _resend_after_failure(batch, {3}) == [b2]
    assert _resend_after_failure(batch, {1, 4}) == [b1, b2, c1]


async def test_a_repeat_adds_new_integrations_without_resetting_others(topology: Topology) -> None:
    event = invoice_requested("inv_11")
    async with open_aws_clients(REGION) as aws:
        ledger = Ledger(aws.dynamodb, topology.ledger_table)
        await ledger.record_queued(event, [Integration.XENDIT], correlation_id="c")
        await ledger.mark(event.event_id, Integration.XENDIT, IntegrationStatus.DONE, attempt=1)
        await ledger.record_queued(event, [Integration.XENDIT, Integration.ERPNEXT], correlation_id="c")
        entry = await ledger.get(event.event_id)
    assert entry is not None
    assert entry.routed_to == ["xendit", "erpnext"]
    assert entry.integrations["xendit"].status is IntegrationStatus.DONE
    assert entry.integrations["erpnext"].status is IntegrationStatus.QUEUED


def _raw_item(topology: Topology, event_id: str) -> dict[str, Any]:
    item: dict[str, Any] = boto3.client("dynamodb", region_name=REGION).get_item(
        TableName=topology.ledger_table, Key={"event_id": {"S": event_id}}, ConsistentRead=True
    )["Item"]
    return item


def _statuses(entry: LedgerEntry | None) -> dict[str, str]:
    assert entry is not None
    return {name: state.status.value for name, state in entry.integrations.items()}


async def test_a_queue_that_refuses_is_not_queued_in_the_ledger_the_others_queued(topology: Topology) -> None:
    event = customer("cus_43")
    sqs = boto3.client("sqs", region_name=REGION)
    async with open_aws_clients(REGION) as aws:
        ledger = Ledger(aws.dynamodb, topology.ledger_table)
        publisher = Publisher(aws.sqs, topology, ledger, backoff_seconds=0.01)
        await publisher.resolve_queues()
        sqs.delete_queue(QueueUrl=sqs.get_queue_url(QueueName=topology.queue_name("chartmogul"))["QueueUrl"])
        with pytest.raises(PublishError) as failure:
            await publisher.publish(event, correlation_id="c")
        during = await ledger.get(event.event_id)
        provision(topology, region=REGION)
        await publisher.publish(event, correlation_id="c")
        after = await ledger.get(event.event_id)

    assert failure.value.failed_queues == [topology.queue_name("chartmogul")]
    assert _statuses(during) == {"erpnext": "queued", "chartmogul": "not_queued", "mautic": "queued"}
    assert during is not None
    assert "NonExistentQueue" in (during.integrations["chartmogul"].last_error or "")
    assert _statuses(after) == {"erpnext": "queued", "chartmogul": "queued", "mautic": "queued"}
    assert after is not None
    assert after.integrations["chartmogul"].last_error is None
    assert [parse_event(m["Body"]) for m in drain(topology, Integration.CHARTMOGUL)] == [event]


async def test_queued_without_a_sent_marker_reads_not_queued_only_after_the_grace(topology: Topology) -> None:
    recorded, replayed, consumed = (
        invoice_requested("inv_20"),
        invoice_requested("inv_21"),
        invoice_requested("inv_22"),
    )
    async with open_aws_clients(REGION) as aws:
        ledger = Ledger(aws.dynamodb, topology.ledger_table)
        for event in (recorded, replayed, consumed):  # the writer stopped before sending
            await ledger.record_queued(event, [Integration.XENDIT], correlation_id="c")
        # An operator's replay (or redrive) puts it on the queue and marks it queued.
        await ledger.mark(replayed.event_id, Integration.XENDIT, IntegrationStatus.QUEUED)
        # A consumer got it after all (the send's answer was lost, not the send).
        await ledger.mark(consumed.event_id, Integration.XENDIT, IntegrationStatus.PROCESSING, attempt=1)
    later = datetime.now(UTC) + timedelta(seconds=SEND_GRACE_SECONDS + 1)
    soon = datetime.now(UTC) + timedelta(seconds=SEND_GRACE_SECONDS - 5)

    def read(event_id: str, now: datetime) -> str:
        return entry_from_item(_raw_item(topology, event_id), now=now).integrations["xendit"].status.value

    assert read(recorded.event_id, soon) == "queued"
    assert read(recorded.event_id, later) == "not_queued"
    assert (
        entry_from_item(_raw_item(topology, recorded.event_id), now=later).integrations["xendit"].last_error
        == NEVER_SENT
    )
    assert read(replayed.event_id, later) == "queued"
    assert read(consumed.event_id, later) == "processing"
    # Entries written before send markers existed are never second-guessed.
    legacy = _raw_item(topology, recorded.event_id)
    del legacy["send_marks"]
    assert entry_from_item(legacy, now=later).integrations["xendit"].status is IntegrationStatus.QUEUED


async def test_a_failed_send_never_overrides_a_consumer_or_an_earlier_successful_send(
    topology: Topology,
) -> None:
    sent_before, taken = invoice_requested("inv_30"), invoice_requested("inv_31")
    async with open_aws_clients(REGION) as aws:
        ledger = Ledger(aws.dynamodb, topology.ledger_table)
        for event in (sent_before, taken):
            await ledger.record_queued(event, [Integration.XENDIT], correlation_id="c")
        await ledger.mark_sent(sent_before.event_id, [Integration.XENDIT])
        await ledger.mark(taken.event_id, Integration.XENDIT, IntegrationStatus.DONE, attempt=1)
        for event in (sent_before, taken):  # a later retry whose send failed
            await ledger.mark_not_queued(event.event_id, Integration.XENDIT, "timeout")
        assert _statuses(await ledger.get(sent_before.event_id)) == {"xendit": "queued"}
        assert _statuses(await ledger.get(taken.event_id)) == {"xendit": "done"}
