"""The ``HandlerContext`` the runtime gives a handler, and the ports it needs from the outside."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from aws_lambda_powertools import Logger

from lovia_billing._events import DomainEvent
from lovia_billing.idempotency import Claim, IdempotencyRecord
from lovia_billing.ledger import IntegrationStatus
from lovia_billing.topology import Integration, follow_up_targets


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


class ClaimsPort(Protocol):
    """Idempotency claims (``LedgerClaims`` or ``IdempotencyStore`` fit).

    ``records_ledger``: ``claim`` marks the ledger ``processing`` and ``mark_done`` marks it
    ``done`` (one write each), so the runtime does not write those two statuses itself.
    """

    records_ledger: bool

    async def claim(
        self, integration: Integration | str, event_id: str, *, owner: str, attempt: int | None = None
    ) -> Claim: ...

    async def renew(self, integration: Integration | str, event_id: str, *, owner: str) -> bool: ...

    async def mark_done(self, integration: Integration | str, event_id: str, *, owner: str) -> None: ...

    async def release(self, integration: Integration | str, event_id: str, *, owner: str) -> None: ...

    async def get(self, integration: Integration | str, event_id: str) -> IdempotencyRecord | None: ...


class PublisherPort(Protocol):
    """How follow-up events leave (``lovia_billing.publisher.Publisher`` fits)."""

    async def publish(
        self, event: DomainEvent, *, correlation_id: str, integrations: Sequence[Integration] | None = None
    ) -> object: ...


@dataclass
class DeliveryContext:
    """One delivery of one event, as a handler sees it."""

    integration: Integration
    attempt: int
    correlation_id: str
    logger: Logger
    publisher: PublisherPort | None

    async def publish(self, event: DomainEvent) -> None:
        """Publish a follow-up event to the queues it goes to from a consumer (``follow_up_targets``)."""
        if self.publisher is None:
            raise RuntimeError("this consumer was started without a publisher")
        targets = follow_up_targets(event.event_type)
        await self.publisher.publish(event, correlation_id=self.correlation_id, integrations=targets)
