"""The ledger and the publisher against moto over HTTP."""

from __future__ import annotations

import json

import boto3
import pytest

from billing_testing.factories import customer, invoice_requested
from lovia_billing import parse_event
from lovia_billing.aws import open_aws_clients
from lovia_billing.ledger import IntegrationStatus, Ledger, LedgerConflict
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
