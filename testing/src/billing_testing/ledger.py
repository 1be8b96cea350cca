"""Ledger entries for tests, written as the services write them (the shared ``Ledger``, over HTTP).

``record`` puts events in a stage's ledger as the publisher does, then moves integrations the way
the consumer runtime does (``processing`` → ``done``, or ``retrying`` → ``dead`` with an error).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence

from lovia_billing import DomainEvent, Topology
from lovia_billing.aws import open_aws_clients
from lovia_billing.ledger import IntegrationStatus, Ledger
from lovia_billing.topology import Integration, routes_for

REGION = "ap-southeast-1"
#: ``{integration: (status, error)}`` for one event; integrations not named stay ``queued``.
Outcomes = Mapping[Integration, tuple[IntegrationStatus, str | None]]


async def record_async(
    topology: Topology,
    events: Sequence[DomainEvent],
    outcomes: Mapping[str, Outcomes] | None = None,
    *,
    correlation_id: str = "corr-test",
) -> None:
    """Record ``events`` in order (each one later than the one before) with their outcomes by id."""
    async with open_aws_clients(REGION) as aws:
        ledger = Ledger(aws.dynamodb, topology.ledger_table)
        for event in events:
            targets = routes_for(event.event_type)
            await ledger.record_queued(event, targets, correlation_id=correlation_id)
            await ledger.mark_sent(event.event_id, targets)
            for integration, (status, error) in (outcomes or {}).get(event.event_id, {}).items():
                attempt = 5 if status in (IntegrationStatus.DEAD, IntegrationStatus.RETRYING) else 1
                await ledger.mark(event.event_id, integration, status, attempt=attempt, error=error)


def record(
    topology: Topology,
    events: Sequence[DomainEvent],
    outcomes: Mapping[str, Outcomes] | None = None,
    *,
    correlation_id: str = "corr-test",
) -> None:
    asyncio.run(record_async(topology, events, outcomes, correlation_id=correlation_id))


def done_everywhere(event: DomainEvent) -> Outcomes:
    return dict.fromkeys(routes_for(event.event_type), (IntegrationStatus.DONE, None))
