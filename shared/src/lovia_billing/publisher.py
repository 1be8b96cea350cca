"""The publisher: puts events on the FIFO queues their type is routed to.

One long-lived aiobotocore SQS client; queue URLs resolved once and cached. Events for one queue
go out with ``SendMessageBatch`` (10 a call, order kept); the queues of one event are sent to
concurrently. A partial batch failure is retried — the failed entries and every later entry of the
same message group in that batch, so order within a group holds; entries that had already gone
are dropped by SQS's content-based deduplication. Nothing is reported as queued that was not:
after the last attempt ``PublishError`` names the queues still missing.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from lovia_billing import tracing
from lovia_billing._errors import PublishError
from lovia_billing._events import DomainEvent
from lovia_billing.ledger import Ledger
from lovia_billing.topology import Integration, Topology, message_group_id, routes_for

if TYPE_CHECKING:
    from types_aiobotocore_sqs import SQSClient

SQS_BATCH_LIMIT = 10
_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Entry:
    event: DomainEvent
    body: str
    correlation_id: str


class Publisher:
    """Routes and sends events; optionally records them as ``queued`` in the ledger first."""

    def __init__(
        self,
        sqs: SQSClient,
        topology: Topology,
        ledger: Ledger | None = None,
        *,
        attempts: int = 4,
        backoff_seconds: float = 0.2,
    ) -> None:
        self._sqs = sqs
        self._topology = topology
        self._ledger = ledger
        self._attempts = attempts
        self._backoff = backoff_seconds
        self._urls: dict[Integration, str] = {}
        self._url_lock = asyncio.Lock()

    async def resolve_queues(self, integrations: Sequence[Integration] = tuple(Integration)) -> None:
        """Look up queue URLs (once); raises ``ClientError`` if a queue does not exist."""
        for integration in integrations:
            await self._url(integration)

    async def _url(self, integration: Integration) -> str:
        async with self._url_lock:
            if integration not in self._urls:
                name = self._topology.queue_name(integration)
                response = await self._sqs.get_queue_url(QueueName=name)
                self._urls[integration] = response["QueueUrl"]
            return self._urls[integration]

    async def check_queues(self, integrations: Sequence[Integration] | None = None) -> None:
        """Ask SQS about each resolved queue (or those of ``integrations``); raises if one cannot be
        reached."""
        urls = self._urls.values() if integrations is None else [await self._url(i) for i in integrations]
        await asyncio.gather(
            *(self._sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"]) for url in urls)
        )

    async def publish(
        self,
        event: DomainEvent,
        *,
        correlation_id: str,
        integrations: Sequence[Integration] | None = None,
        record: bool = True,
    ) -> tuple[Integration, ...]:
        """Record and send one event to its routed queues (or ``integrations``); return them.

        ``record=False`` skips the ledger (the entry exists and must not change). Raises
        ``PublishError`` naming the queues that did not take the event, after the ledger says so.
        """
        targets = tuple(integrations) if integrations is not None else routes_for(event.event_type)
        tracing.annotate(correlation_id=correlation_id, event_id=event.event_id)
        body = event.body()  # encoded once: the ledger stores what the queues receive
        ledger = self._ledger if record else None
        if ledger is not None:
            await ledger.record_queued(event, targets, correlation_id=correlation_id, body=body)
        entry = _Entry(event, body, correlation_id)
        failures = await self._send({target: [entry] for target in targets})
        if ledger is not None:
            await _record_outcome(ledger, event.event_id, [t for t in targets if t not in failures], failures)
        if failures:
            failed = [self._topology.queue_name(integration) for integration in failures]
            reasons = "; ".join(failures.values())
            raise PublishError(f"not queued on {', '.join(failed)}: {reasons}", failed_queues=failed)
        return targets

    async def _send(self, by_queue: dict[Integration, list[_Entry]]) -> dict[Integration, str]:
        """Send to every queue at once; the error of each queue that did not take its entries."""
        results = await asyncio.gather(
            *(self._send_to_queue(integration, entries) for integration, entries in by_queue.items()),
            return_exceptions=True,
        )
        return {
            integration: f"{self._topology.queue_name(integration)}: {result}"
            for integration, result in zip(by_queue, results, strict=True)
            if result is not None
        }

    async def _send_to_queue(self, integration: Integration, entries: list[_Entry]) -> None:
        try:
            url = await self._url(integration)
        except (ClientError, BotoCoreError) as exc:
            raise PublishError(f"{type(exc).__name__}: {exc}", failed_queues=[]) from exc
        for start in range(0, len(entries), SQS_BATCH_LIMIT):
            await self._send_batch(url, entries[start : start + SQS_BATCH_LIMIT])

    async def _send_batch(self, url: str, batch: list[_Entry]) -> None:
        pending = batch
        last_error = "unknown"
        for attempt in range(self._attempts):
            if attempt:
                await asyncio.sleep(self._backoff * 2 ** (attempt - 1) * (0.5 + random.random()))
            try:
                response = await self._sqs.send_message_batch(
                    QueueUrl=url, Entries=[_batch_entry(str(i), e) for i, e in enumerate(pending)]
                )
            except (ClientError, BotoCoreError) as exc:
                last_error = f"{type(exc).__name__}: {exc}"
                continue
            failures = response.get("Failed", [])
            if not failures:
                return
            last_error = "; ".join(f"{f.get('Code')}: {f.get('Message', '')}" for f in failures)
            pending = _resend_after_failure(pending, {int(f["Id"]) for f in failures})
        raise PublishError(last_error, failed_queues=[url.rsplit("/", 1)[-1]])


async def _record_outcome(
    ledger: Ledger, event_id: str, sent: list[Integration], failures: dict[Integration, str]
) -> None:
    """``sent`` markers and ``not_queued`` marks, written together.

    Not written is not fatal: the send's own outcome stands, and an integration left ``queued``
    without its marker reads as ``not_queued`` after the ledger's grace period until a consumer
    marks it.
    """
    results = await asyncio.gather(
        ledger.mark_sent(event_id, sent),
        *(ledger.mark_not_queued(event_id, integration, error) for integration, error in failures.items()),
        return_exceptions=True,
    )
    for result in results:
        if isinstance(result, Exception):
            _log.warning(
                "ledger not updated after a send of %s: %s: %s", event_id, type(result).__name__, result
            )
        elif isinstance(result, BaseException):
            raise result


def _resend_after_failure(pending: list[_Entry], failed: set[int]) -> list[_Entry]:
    """The failed entries plus every later entry of their message groups, in order."""
    first_failure: dict[str, int] = {}
    for index in sorted(failed):
        first_failure.setdefault(pending[index].event.customer_id, index)
    return [
        entry
        for index, entry in enumerate(pending)
        if index in failed or index > first_failure.get(entry.event.customer_id, len(pending))
    ]


def _batch_entry(entry_id: str, entry: _Entry) -> Any:
    return {
        "Id": entry_id,
        "MessageBody": entry.body,
        "MessageGroupId": message_group_id(entry.event.customer_id),
        "MessageAttributes": {
            "correlation_id": {"DataType": "String", "StringValue": entry.correlation_id},
            "event_type": {"DataType": "String", "StringValue": entry.event.event_type.value},
            "published_at": {"DataType": "String", "StringValue": datetime.now(UTC).isoformat()},
            # traceparent/tracestate when tracing is on; the body (and so deduplication) is unchanged
            **tracing.message_attributes(),
        },
    }
