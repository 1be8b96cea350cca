"""The idempotency store: the second layer of exactly-once (DESIGN.md), on aiobotocore.

One DynamoDB item per ``(integration, event_id)``, key ``pk = "<integration>#<event_id>"``:

* ``claim`` before a handler runs: a conditional put that succeeds only if no live item exists.
  A live ``in_progress`` item of another worker means "someone is on it: come back later"; a
  ``done`` item means "already done: acknowledge with no effect".
* ``mark_done`` after the handler succeeded; the item then lives ``ttl_days``.
* ``release`` after a failure, so the next delivery (or a redrive) runs the handler again.

Every item carries ``expires_at`` (epoch seconds, the table's TTL attribute): the claim's end for an
``in_progress`` item, so a crashed worker's claim is retaken after ``claim_seconds``; the retention
end for a ``done`` item. DynamoDB deletes expired items lazily (up to days late), so every read and
condition treats ``expires_at < now`` as absent.

Why not Powertools' Idempotency utility: it calls the decorated function synchronously
(``self.function(*args)`` in ``IdempotencyHandler._get_function_response``) and persists through a
blocking boto3 client, so under asyncio it would block the event loop on every DynamoDB call and
cannot await a coroutine handler; its in-progress expiry also follows a Lambda context's remaining
time. See ``docs/consumer-runtime.md``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from lovia_billing.topology import Integration

if TYPE_CHECKING:
    from types_aiobotocore_dynamodb import DynamoDBClient

__all__ = ["Claim", "IdempotencyRecord", "IdempotencyStore", "RecordStatus"]

_CONDITION_FAILED = "ConditionalCheckFailedException"


class RecordStatus(StrEnum):
    IN_PROGRESS = "in_progress"
    DONE = "done"


class Claim(StrEnum):
    """The answer to ``claim``."""

    ACQUIRED = "acquired"  # run the handler
    DONE = "done"  # already done: acknowledge, no effect
    HELD = "held"  # another worker holds a live claim: leave the message for later


@dataclass(frozen=True)
class IdempotencyRecord:
    integration: str
    event_id: str
    status: RecordStatus
    owner: str
    expires_at: int


def record_key(integration: Integration | str, event_id: str) -> str:
    return f"{Integration(integration).value}#{event_id}"


class IdempotencyStore:
    """Claims and completions of ``(integration, event_id)`` in one DynamoDB table."""

    #: The ledger is not written here: the runtime marks ``processing`` and ``done`` itself. (The
    #: runtime uses ``LedgerClaims``, which keeps claims on the ledger entry and falls back to this.)
    records_ledger = False

    def __init__(
        self,
        dynamodb: DynamoDBClient,
        table: str,
        *,
        claim_seconds: int = 120,
        ttl_days: int = 30,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._db = dynamodb
        self._table = table
        self._claim_seconds = claim_seconds
        self._ttl_seconds = ttl_days * 24 * 3600
        self._clock = clock

    async def claim(
        self,
        integration: Integration | str,
        event_id: str,
        *,
        owner: str,
        attempt: int | None = None,  # noqa: ARG002 - the ledger's; not kept in this table
    ) -> Claim:
        """Take the claim unless a live one exists; say what the caller should do."""
        for _ in range(3):  # a claim that expires between the write and the read: try again
            outcome = await self._try_claim(integration, event_id, owner)
            if outcome is not None:
                return outcome
        return Claim.HELD

    async def _try_claim(self, integration: Integration | str, event_id: str, owner: str) -> Claim | None:
        now = int(self._clock())
        try:
            await self._db.put_item(
                TableName=self._table,
                Item=self._item(
                    integration, event_id, RecordStatus.IN_PROGRESS, owner, now + self._claim_seconds
                ),
                # Free, expired, or our own earlier claim (a redelivery to the same worker).
                ConditionExpression=(
                    "attribute_not_exists(pk) OR expires_at < :now OR (#s = :progress AND #o = :owner)"
                ),
                ExpressionAttributeNames={"#s": "status", "#o": "owner"},
                ExpressionAttributeValues={
                    ":now": {"N": str(now)},
                    ":progress": {"S": RecordStatus.IN_PROGRESS.value},
                    ":owner": {"S": owner},
                },
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] != _CONDITION_FAILED:
                raise
            record = await self.get(integration, event_id)
            if record is None:
                return None
            return Claim.DONE if record.status is RecordStatus.DONE else Claim.HELD
        return Claim.ACQUIRED

    async def renew(self, integration: Integration | str, event_id: str, *, owner: str) -> bool:
        """Push a held claim's end out by ``claim_seconds`` (a slow handler); False if it was lost."""
        now = int(self._clock())
        try:
            await self._db.update_item(
                TableName=self._table,
                Key={"pk": {"S": record_key(integration, event_id)}},
                UpdateExpression="SET expires_at = :until",
                ConditionExpression="#s = :progress AND #o = :owner",
                ExpressionAttributeNames={"#s": "status", "#o": "owner"},
                ExpressionAttributeValues={
                    ":until": {"N": str(now + self._claim_seconds)},
                    ":progress": {"S": RecordStatus.IN_PROGRESS.value},
                    ":owner": {"S": owner},
                },
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] == _CONDITION_FAILED:
                return False
            raise
        return True

    async def mark_done(self, integration: Integration | str, event_id: str, *, owner: str) -> None:
        """Record success; redeliveries within ``ttl_days`` are acknowledged with no effect."""
        now = int(self._clock())
        await self._db.put_item(
            TableName=self._table,
            Item=self._item(integration, event_id, RecordStatus.DONE, owner, now + self._ttl_seconds),
        )

    async def release(self, integration: Integration | str, event_id: str, *, owner: str) -> None:
        """Drop our own in-progress claim after a failure (someone else's claim or ``done`` stays)."""
        try:
            await self._db.delete_item(
                TableName=self._table,
                Key={"pk": {"S": record_key(integration, event_id)}},
                ConditionExpression="#s = :progress AND #o = :owner",
                ExpressionAttributeNames={"#s": "status", "#o": "owner"},
                ExpressionAttributeValues={
                    ":progress": {"S": RecordStatus.IN_PROGRESS.value},
                    ":owner": {"S": owner},
                },
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] != _CONDITION_FAILED:
                raise

    async def clear(self, integration: Integration | str, event_id: str) -> None:
        """Forget the record whatever its state (``billing events replay --force``)."""
        await self._db.delete_item(
            TableName=self._table, Key={"pk": {"S": record_key(integration, event_id)}}
        )

    async def get(self, integration: Integration | str, event_id: str) -> IdempotencyRecord | None:
        """The live record, or None (absent or expired)."""
        response = await self._db.get_item(
            TableName=self._table, Key={"pk": {"S": record_key(integration, event_id)}}, ConsistentRead=True
        )
        item = response.get("Item")
        if item is None:
            return None
        expires_at = int(item["expires_at"]["N"])
        if expires_at < int(self._clock()):
            return None
        return IdempotencyRecord(
            integration=str(item["integration"]["S"]),
            event_id=str(item["event_id"]["S"]),
            status=RecordStatus(item["status"]["S"]),
            owner=str(item["owner"]["S"]),
            expires_at=expires_at,
        )

    @staticmethod
    def _item(
        integration: Integration | str, event_id: str, status: RecordStatus, owner: str, expires_at: int
    ) -> Any:
        return {
            "pk": {"S": record_key(integration, event_id)},
            "integration": {"S": Integration(integration).value},
            "event_id": {"S": event_id},
            "status": {"S": status.value},
            "owner": {"S": owner},
            "expires_at": {"N": str(expires_at)},
        }
