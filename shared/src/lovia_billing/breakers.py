"""Each consumer's circuit-breaker state, published for operators (``billing queues``), on aiobotocore.

One small item per integration in the stage's idempotency table, key ``pk =
"breaker#<stage>#<integration>"`` (no integration is called ``breaker``, so it cannot meet an event's
``<integration>#<event_id>``). A consumer writes it on every transition (closed → open → probing →
open ... → closed), so an open breaker's item is rewritten at each probe and its ``updated_at``
shows that the worker is alive. With several workers per integration the last transition of any
of them is shown, with its ``worker``. ``expires_at`` (the table's TTL) lets a stage's items of
retired integrations disappear after 30 days; readers treat an item whose probe is long overdue as
stale, not as an open breaker.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from lovia_billing.topology import Integration

if TYPE_CHECKING:
    from types_aiobotocore_dynamodb import DynamoDBClient

__all__ = ["BreakerBoard", "BreakerStatus", "breaker_key"]

RETENTION_SECONDS = 30 * 24 * 3600


def breaker_key(stage: str, integration: Integration | str) -> str:
    return f"breaker#{stage}#{Integration(integration).value}"


@dataclass(frozen=True)
class BreakerStatus:
    """One integration's breaker as last published; times are epoch seconds."""

    integration: str
    state: str  # closed, open, probing
    since: float  # when it entered ``state``
    opened_at: float | None  # when the current outage began (None while closed)
    next_probe_at: float | None
    probes: int  # probes tried since it opened
    last_error: str | None
    worker: str
    updated_at: float

    @property
    def open(self) -> bool:
        return self.state != "closed"


def _number(item: dict[str, Any], name: str) -> float | None:
    value = item.get(name)
    return float(value["N"]) if value is not None else None


class BreakerBoard:
    """Reads and writes the breaker items of one stage."""

    def __init__(self, dynamodb: DynamoDBClient, table: str, stage: str) -> None:
        self._db = dynamodb
        self._table = table
        self._stage = stage

    async def publish(self, status: BreakerStatus) -> None:
        item: dict[str, Any] = {
            "pk": {"S": breaker_key(self._stage, status.integration)},
            "integration": {"S": status.integration},
            "state": {"S": status.state},
            "since": {"N": repr(status.since)},
            "probes": {"N": str(status.probes)},
            "worker": {"S": status.worker},
            "updated_at": {"N": repr(status.updated_at)},
            "expires_at": {"N": str(int(status.updated_at) + RETENTION_SECONDS)},
        }
        if status.opened_at is not None:
            item["opened_at"] = {"N": repr(status.opened_at)}
        if status.next_probe_at is not None:
            item["next_probe_at"] = {"N": repr(status.next_probe_at)}
        if status.last_error:
            item["last_error"] = {"S": status.last_error[:1000]}
        await self._db.put_item(TableName=self._table, Item=item)

    async def read(self, integration: Integration | str) -> BreakerStatus | None:
        """The published state, or None if this stage's consumer never published one."""
        response = await self._db.get_item(
            TableName=self._table,
            Key={"pk": {"S": breaker_key(self._stage, integration)}},
            ConsistentRead=True,
        )
        item: dict[str, Any] | None = response.get("Item")
        if item is None:
            return None
        return BreakerStatus(
            integration=str(item["integration"]["S"]),
            state=str(item["state"]["S"]),
            since=float(item["since"]["N"]),
            opened_at=_number(item, "opened_at"),
            next_probe_at=_number(item, "next_probe_at"),
            probes=int(item["probes"]["N"]),
            last_error=str(item["last_error"]["S"]) if "last_error" in item else None,
            worker=str(item["worker"]["S"]),
            updated_at=float(item["updated_at"]["N"]),
        )
