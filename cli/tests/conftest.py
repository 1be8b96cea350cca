"""Fixtures for the operators' command line: a stage on moto over HTTP, events in its ledger and DLQs."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import boto3
import pytest
from typer.testing import CliRunner, Result

from billing_cli.main import app
from billing_testing.queues import QueueReader
from lovia_billing import CustomerUpserted, Integration, Topology
from lovia_billing.aws import open_aws_clients
from lovia_billing.ledger import IntegrationStatus, Ledger

REGION = "ap-southeast-1"
INTEGRATION = Integration.ERPNEXT
#: When the consumer first received the dead events (the runtime records it on dead-lettering).
FIRST_RECEIVED = "2026-11-25T03:00:00+00:00"


def _invoke(*args: str, env: dict[str, str | None] | None = None) -> Result:
    """Run ``billing <args>`` in-process; wide enough that tables do not fold ids."""
    return CliRunner().invoke(app, list(args), env={"COLUMNS": "250", **(env or {})})


def _invoke_json(*args: str) -> Any:
    result = _invoke(*args, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.fixture
def billing() -> Callable[..., Result]:
    """``billing("dlq", "show", "erpnext", env={...})``: the command line in-process."""
    return _invoke


@pytest.fixture
def billing_json() -> Callable[..., Any]:
    """``billing_json("queues")``: the command with ``--json``, which must succeed; its output parsed."""
    return _invoke_json


def event(customer: str, n: int) -> CustomerUpserted:
    return CustomerUpserted.create(
        customer_id=customer,
        request_key=f"k{n:04d}",
        email=f"{customer}@example.com",
        name=f"Customer {customer}",
    )


async def _record(
    topology: Topology, events: list[CustomerUpserted], status: IntegrationStatus, error: str
) -> None:
    async with open_aws_clients(REGION) as clients:
        ledger = Ledger(clients.dynamodb, topology.ledger_table)
        for e in events:
            await ledger.record_queued(e, [INTEGRATION], correlation_id=f"corr-{e.request_key}")
            await ledger.mark(e.event_id, INTEGRATION, status, attempt=5, error=error)


@pytest.fixture
def reader(topology: Topology) -> QueueReader:
    return QueueReader(topology, REGION)


@pytest.fixture
def sqs(aws_endpoint: str) -> Any:
    return boto3.client("sqs", region_name=REGION)


@pytest.fixture
def dead_letters(topology: Topology, reader: QueueReader, sqs: Any) -> Callable[..., list[CustomerUpserted]]:
    """``dead_letters({"cus_a": 3})``: numbered events in erpnext's DLQ as the runtime puts them, dead in
    the ledger; returned in the order sent."""

    def put(
        counts: dict[str, int], *, reason: str = "PermanentError: refused: 422"
    ) -> list[CustomerUpserted]:
        events = [event(customer, n) for customer, count in counts.items() for n in range(count)]
        asyncio.run(_record(topology, events, IntegrationStatus.DEAD, reason))
        url = reader.url(INTEGRATION, dlq=True)
        for e in events:
            sqs.send_message(
                QueueUrl=url,
                MessageBody=e.body(),
                MessageGroupId=e.customer_id,
                MessageDeduplicationId=f"dead-{e.event_id}",
                MessageAttributes={
                    "correlation_id": {"DataType": "String", "StringValue": f"corr-{e.request_key}"},
                    "dead_reason": {"DataType": "String", "StringValue": reason},
                    "source_receive_count": {"DataType": "Number", "StringValue": "5"},
                    "first_received_at": {"DataType": "String", "StringValue": FIRST_RECEIVED},
                },
            )
        return events

    return put


def _drain(sqs: Any, url: str) -> list[dict[str, Any]]:
    """Every message of a FIFO queue in delivery order, deleted as received (so groups move on)."""
    messages: list[dict[str, Any]] = []
    while True:
        batch = sqs.receive_message(
            QueueUrl=url,
            MaxNumberOfMessages=10,
            VisibilityTimeout=30,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        if not batch:
            return messages
        for message in batch:
            messages.append(message)
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])


@pytest.fixture
def drain(sqs: Any) -> Callable[[str], list[dict[str, Any]]]:
    """``drain(url)``: every message of a FIFO queue in delivery order, deleted as received."""
    return lambda url: _drain(sqs, url)
