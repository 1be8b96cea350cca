"""The AWS side of a command: one stage's topology, its SQS and DynamoDB clients, its stores.

Clients are aiobotocore's (as in the services) so the shared ``Ledger`` and ``IdempotencyStore`` are
used as they are; a command is one ``asyncio.run``. Endpoints come from botocore's configuration, so
``AWS_ENDPOINT_URL`` points them at the local stand-in. Retries are fewer than the services' so an
operator hears about an unreachable endpoint in seconds.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiobotocore.config import AioConfig
from aiobotocore.session import get_session
from botocore.exceptions import ClientError

from billing_cli._errors import OperatorError
from lovia_billing import BillingSettings, Integration, Topology
from lovia_billing.claims import LedgerClaims
from lovia_billing.idempotency import IdempotencyStore
from lovia_billing.ledger import Ledger, LedgerEntry

if TYPE_CHECKING:
    from types_aiobotocore_dynamodb import DynamoDBClient
    from types_aiobotocore_sqs import SQSClient

_NO_QUEUE = frozenset({"AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist"})
_CONFIG = AioConfig(retries={"max_attempts": 2, "mode": "standard"}, connect_timeout=3, read_timeout=25)


@dataclass
class Stage:
    """Everything of one stage a command touches."""

    topology: Topology
    region: str
    sqs: SQSClient
    dynamodb: DynamoDBClient
    _urls: dict[str, str] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.topology.stage

    @property
    def ledger(self) -> Ledger:
        return Ledger(self.dynamodb, self.topology.ledger_table)

    async def ledger_entry(self, event_id: str) -> LedgerEntry | None:
        """The event's ledger entry; ``OperatorError`` naming the table if the stage has none."""
        try:
            return await self.ledger.get(event_id)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ResourceNotFoundException":
                table = self.topology.ledger_table
                raise OperatorError(f"table {table} does not exist (stage {self.name!r})") from exc
            raise

    @property
    def idempotency(self) -> LedgerClaims:
        """The consumers' claims: on the ledger entry, the idempotency table for unrecorded events."""
        fallback = IdempotencyStore(self.dynamodb, self.topology.idempotency_table)
        return LedgerClaims(self.dynamodb, self.topology.ledger_table, fallback)

    async def queue_url(self, name: str) -> str:
        """The URL of a queue of this stage; ``OperatorError`` naming it if it does not exist."""
        if name not in self._urls:
            try:
                response = await self.sqs.get_queue_url(QueueName=name)
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") in _NO_QUEUE:
                    raise OperatorError(f"queue {name} does not exist (stage {self.name!r})") from exc
                raise
            self._urls[name] = response["QueueUrl"]
        return self._urls[name]

    async def source_url(self, integration: Integration) -> str:
        return await self.queue_url(self.topology.queue_name(integration))

    async def dlq_url(self, integration: Integration) -> str:
        return await self.queue_url(self.topology.dlq_name(integration))

    async def queue_attributes(self, url: str, *names: str) -> dict[str, str]:
        response = await self.sqs.get_queue_attributes(
            QueueUrl=url,
            AttributeNames=list(names),  # type: ignore[arg-type] # names are SQS's own literals
        )
        return {str(name): value for name, value in response.get("Attributes", {}).items()}


@asynccontextmanager
async def open_stage(stage: str) -> AsyncIterator[Stage]:
    """Clients for ``stage`` in the region of the environment (``AWS_REGION``, default Singapore)."""
    region = BillingSettings().aws_region
    session = get_session()
    async with AsyncExitStack() as stack:
        sqs: Any = await stack.enter_async_context(
            session.create_client("sqs", region_name=region, config=_CONFIG)
        )
        dynamodb: Any = await stack.enter_async_context(
            session.create_client("dynamodb", region_name=region, config=_CONFIG)
        )
        yield Stage(Topology(stage), region, sqs, dynamodb)
