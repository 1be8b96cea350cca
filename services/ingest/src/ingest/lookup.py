"""The read side shared by the GraphQL API and the operators' console: events, timelines, DLQ depths.

Nothing here writes. Searches go through ``lovia_billing.ledger_search``; DLQ depths are SQS's
``ApproximateNumberOfMessages`` (+ not visible), read with ``GetQueueAttributes`` only: no message
of a DLQ is ever received here.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from ingest.services import Services
from lovia_billing.ledger import LedgerEntry
from lovia_billing.ledger_index import MAX_KEY_BYTES
from lovia_billing.ledger_search import EventFilter, EventPage, IntegrationSummary, LedgerSearch, summarize
from lovia_billing.topology import Integration

#: A customer's or invoice's integration summary covers its newest events, at most this many.
SUMMARY_EVENTS = 500
DEPTH_TIMEOUT_SECONDS = 3.0


@dataclass(frozen=True)
class DeadLetterDepth:
    integration: Integration
    messages: int | None  # None: the queue could not be read (``error`` says why)
    error: str | None = None


class Lookup:
    """Per request: the services' clients, the stage's ledger table and queues."""

    def __init__(self, services: Services) -> None:
        self._services = services
        self._search = LedgerSearch(services.aws.dynamodb, services.settings.topology.ledger_table)

    async def event(self, event_id: str) -> LedgerEntry | None:
        if not 0 < len(event_id.encode()) <= MAX_KEY_BYTES:  # no such id; DynamoDB refuses to look
            return None
        return await self._services.ledger.get(event_id)

    async def events(self, search: EventFilter, *, first: int, after: str | None = None) -> EventPage:
        return await self._search.page(search, first=first, after=after)

    async def summary(self, search: EventFilter) -> list[IntegrationSummary]:
        return summarize(await self._search.newest(search, limit=SUMMARY_EVENTS))

    async def dead_letter_depths(self) -> list[DeadLetterDepth]:
        return list(await asyncio.gather(*(self._depth(i) for i in Integration)))

    async def _depth(self, integration: Integration) -> DeadLetterDepth:
        sqs = self._services.aws.sqs
        name = self._services.settings.topology.dlq_name(integration)
        try:
            async with asyncio.timeout(DEPTH_TIMEOUT_SECONDS):
                url = (await sqs.get_queue_url(QueueName=name))["QueueUrl"]
                attributes = (
                    await sqs.get_queue_attributes(
                        QueueUrl=url,
                        AttributeNames=[
                            "ApproximateNumberOfMessages",
                            "ApproximateNumberOfMessagesNotVisible",
                        ],
                    )
                )["Attributes"]
        except Exception as exc:
            return DeadLetterDepth(integration, None, f"{type(exc).__name__}: {exc}")
        visible = int(attributes.get("ApproximateNumberOfMessages", "0"))
        return DeadLetterDepth(
            integration, visible + int(attributes.get("ApproximateNumberOfMessagesNotVisible", "0"))
        )
