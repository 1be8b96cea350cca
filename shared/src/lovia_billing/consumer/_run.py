"""Composition root of a consumer process: clients, stores, resources, signals, exit code."""

from __future__ import annotations

import asyncio
import json
import signal
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from typing import TypeVar

from lovia_billing import tracing
from lovia_billing._settings import ConsumerSettings
from lovia_billing.aws import open_aws_clients
from lovia_billing.breakers import BreakerBoard
from lovia_billing.claims import LedgerClaims
from lovia_billing.consumer._consumer import Consumer
from lovia_billing.consumer._integration import IntegrationApp
from lovia_billing.idempotency import IdempotencyStore
from lovia_billing.ledger import Ledger
from lovia_billing.publisher import Publisher
from lovia_billing.topology import MAX_RECEIVE_COUNT

S = TypeVar("S", bound=ConsumerSettings)


@asynccontextmanager
async def open_consumer(app: IntegrationApp, settings: ConsumerSettings) -> AsyncIterator[Consumer]:
    """A ready ``Consumer``: AWS clients open, the app's resources entered, the queue URL resolved once."""
    topology = settings.topology
    async with AsyncExitStack() as stack:
        clients = await stack.enter_async_context(
            open_aws_clients(
                settings.aws_region, max_pool_connections=max(64, 2 * settings.consumer_concurrency)
            )
        )
        for resource in app.resources:
            await stack.enter_async_context(resource)
        queue_url = (await clients.sqs.get_queue_url(QueueName=topology.queue_name(app.integration)))[
            "QueueUrl"
        ]
        dlq_url = (await clients.sqs.get_queue_url(QueueName=topology.dlq_name(app.integration)))["QueueUrl"]
        attributes = await clients.sqs.get_queue_attributes(
            QueueUrl=queue_url, AttributeNames=["RedrivePolicy"]
        )
        redrive = attributes.get("Attributes", {}).get("RedrivePolicy")
        max_receive_count = int(json.loads(redrive)["maxReceiveCount"]) if redrive else MAX_RECEIVE_COUNT
        ledger = Ledger(clients.dynamodb, topology.ledger_table)
        yield Consumer(
            app,
            settings,
            sqs=clients.sqs,
            queue_url=queue_url,
            dlq_url=dlq_url,
            idempotency=LedgerClaims(
                clients.dynamodb,
                topology.ledger_table,
                IdempotencyStore(
                    clients.dynamodb,
                    topology.idempotency_table,
                    claim_seconds=settings.consumer_claim_seconds,
                    ttl_days=settings.idempotency_ttl_days,
                ),
                claim_seconds=settings.consumer_claim_seconds,
            ),
            ledger=ledger,
            publisher=Publisher(clients.sqs, topology, ledger),
            breakers=BreakerBoard(clients.dynamodb, topology.idempotency_table, topology.stage),
            max_receive_count=max_receive_count,
        )


async def serve(app: IntegrationApp, settings: ConsumerSettings) -> None:
    """Run until SIGTERM or SIGINT, then drain within the grace period."""
    async with open_consumer(app, settings) as consumer:
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, consumer.stop)
        try:
            await consumer.run_until_stopped()
        finally:
            for signum in (signal.SIGTERM, signal.SIGINT):
                loop.remove_signal_handler(signum)


def run_consumer(build: Callable[[S], IntegrationApp], settings: S) -> int:
    """The whole life of a consumer process; returns the exit code (0 after a clean stop)."""
    app = build(settings)
    tracing.configure_tracing(f"billing-{app.integration.value}-sync")  # off without an OTLP endpoint
    asyncio.run(serve(app, settings))
    return 0
