"""What an integration supplies to the consumer runtime: handlers per event type.

An integration (xendit, erpnext, chartmogul, mautic) writes only this:

    async def on_invoice_issued(event: InvoiceIssued, ctx: HandlerContext) -> None: ...

    def build(settings, clients) -> IntegrationApp:
        return IntegrationApp(Integration.ERPNEXT, {EventType.INVOICE_ISSUED: on_invoice_issued}, ...)

A handler returns normally on success. It raises ``RetryableError`` (or any unknown exception) to
be retried with backoff, ``RateLimited(retry_after=...)`` to wait what the downstream asked, and
``PermanentError`` when the event can never succeed (it goes to the DLQ with the reason in the
ledger). Handlers must be safe to run twice: the idempotency store makes that rare, natural keys
downstream make it harmless.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import Any, Protocol

from aws_lambda_powertools import Logger

from lovia_billing._events import DomainEvent, EventType
from lovia_billing.topology import Integration


class HandlerContext(Protocol):
    """What the runtime gives a handler for one delivery of one event."""

    integration: Integration
    attempt: int  # ApproximateReceiveCount of this delivery, from 1
    correlation_id: str
    logger: Logger

    async def publish(self, event: DomainEvent) -> None:
        """Publish a follow-up event (routed by the topology, recorded as queued in the ledger).

        Its id is derived from its natural key, so a handler that runs twice publishes nothing new.
        """
        ...


Handler = Callable[[Any, HandlerContext], Awaitable[None]]


@dataclass
class IntegrationApp:
    """One integration's handlers and the resources they hold open (downstream HTTP clients)."""

    integration: Integration
    handlers: Mapping[EventType, Handler]
    #: Entered once when the consumer starts and left when it stops (e.g. closes an httpx client).
    resources: list[AbstractAsyncContextManager[Any]] = field(default_factory=list)
