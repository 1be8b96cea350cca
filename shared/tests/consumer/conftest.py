"""Fixtures for the consumer runtime's tests: the example consumer against moto over HTTP."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from billing_testing.consumer_harness import Clock
from billing_testing.example_consumer import ExampleSettings, Recorder
from lovia_billing import CustomerUpserted, Integration, Topology
from lovia_billing.aws import AwsClients, open_aws_clients
from lovia_billing.ledger import Ledger
from lovia_billing.publisher import Publisher

REGION = "ap-southeast-1"
INTEGRATION = Integration.ERPNEXT


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def recorder(serve_asgi: Callable[[Any], str]) -> tuple[Recorder, str]:
    recorder = Recorder()
    return recorder, serve_asgi(recorder)


@pytest.fixture
def make_settings(topology: Topology, recorder: tuple[Recorder, str]) -> Callable[..., ExampleSettings]:
    """Settings for fast tests: short polls, visibility, claims and backoff."""

    def make(**overrides: Any) -> ExampleSettings:
        values: dict[str, Any] = {
            "billing_stage": topology.stage,
            "example_recorder_url": recorder[1],
            "example_integration": INTEGRATION,
            "consumer_wait_seconds": 1,
            "consumer_visibility_timeout": 10,
            "consumer_claim_seconds": 10,
            "consumer_backoff_base": 1.0,
            "consumer_backoff_cap": 2.0,
            "consumer_grace_seconds": 5.0,
            "consumer_metrics_seconds": 1.0,
            "example_worker": "in-process",
        }
        values.update(overrides)
        return ExampleSettings(**values)

    return make


@pytest.fixture
async def aws(aws_endpoint: str) -> AsyncIterator[AwsClients]:
    async with open_aws_clients(REGION) as clients:
        yield clients


@pytest.fixture
def queue_url(queue_urls: dict[str, str], topology: Topology) -> str:
    return queue_urls[topology.queue_name(INTEGRATION)]


@pytest.fixture
def dlq_url(queue_urls: dict[str, str], topology: Topology) -> str:
    return queue_urls[topology.dlq_name(INTEGRATION)]


@pytest.fixture
def short_redrive(aws: AwsClients, queue_url: str, dlq_url: str) -> Callable[[int], Awaitable[int]]:
    """``await short_redrive(3)``: this test's queue dead-letters after 3 receives, not production's 19.

    For tests that need a retry budget of seconds; the consumer reads ``maxReceiveCount`` at start.
    """

    async def set_to(receives: int) -> int:
        arn = (await aws.sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"]))[
            "Attributes"
        ]["QueueArn"]
        policy = json.dumps({"deadLetterTargetArn": arn, "maxReceiveCount": str(receives)})
        await aws.sqs.set_queue_attributes(QueueUrl=queue_url, Attributes={"RedrivePolicy": policy})
        return receives

    return set_to


@pytest.fixture
def ledger(aws: AwsClients, topology: Topology) -> Ledger:
    return Ledger(aws.dynamodb, topology.ledger_table)


@pytest.fixture
def publish(
    aws: AwsClients, topology: Topology, ledger: Ledger
) -> Callable[..., Awaitable[list[CustomerUpserted]]]:
    """``await publish({"cus_a": 3, ...})``: numbered customer.upserted events, recorded in the ledger."""
    publisher = Publisher(aws.sqs, topology, ledger)

    async def send(counts: dict[str, int], *, prefix: str = "") -> list[CustomerUpserted]:
        events = [
            CustomerUpserted.create(
                customer_id=customer,
                request_key=f"{prefix}{n:04d}",
                email=f"{customer}@example.com",
                name=f"Customer {customer}",
            )
            for n in range(max(counts.values()))
            for customer, count in counts.items()
            if n < count
        ]
        for event in events:  # one by one: order within each group is the point of the tests
            await publisher.publish(
                event, correlation_id=f"corr-{event.request_key}", integrations=[INTEGRATION]
            )
        return events

    return send
