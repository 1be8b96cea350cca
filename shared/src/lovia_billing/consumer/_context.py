"""The ``HandlerContext`` the runtime gives a handler, and the ports it needs from the outside."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from aws_lambda_powertools import Logger

from lovia_billing._events import DomainEvent
from lovia_billing.ledger import IntegrationStatus
from lovia_billing.topology import Integration


class LedgerPort(Protocol):
    """What the runtime writes to the ledger (``lovia_billing.ledger.Ledger`` fits)."""

    async def mark(
        self,
        event_id: str,
        integration: Integration | str,
        status: IntegrationStatus,
        *,
        attempt: int | None = None,
        error: str | None = None,
    ) -> None: ...


class PublisherPort(Protocol):
    """How follow-up events leave (``lovia_billing.publisher.Publisher`` fits)."""

    async def publish(self, event: DomainEvent, *, correlation_id: str) -> object: ...


@dataclass
class DeliveryContext:
    """One delivery of one event, as a handler sees it."""

    integration: Integration
    attempt: int
    correlation_id: str
    logger: Logger
    publisher: PublisherPort | None

    async def publish(self, event: DomainEvent) -> None:
        if self.publisher is None:
            raise RuntimeError("this consumer was started without a publisher")
        await self.publisher.publish(event, correlation_id=self.correlation_id)
