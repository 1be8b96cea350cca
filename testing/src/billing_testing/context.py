"""A ``HandlerContext`` that records what a handler publishes, for handler tests against sandboxes."""

from __future__ import annotations

from dataclasses import dataclass, field

from aws_lambda_powertools import Logger

from lovia_billing import DomainEvent, Integration


@dataclass
class RecordingContext:
    """Calls a handler the way the runtime does, keeping published events in ``published``."""

    integration: Integration
    attempt: int = 1
    correlation_id: str = "test-correlation"
    logger: Logger = field(default_factory=lambda: Logger(service="test"))
    published: list[DomainEvent] = field(default_factory=list)

    async def publish(self, event: DomainEvent) -> None:
        self.published.append(event)
