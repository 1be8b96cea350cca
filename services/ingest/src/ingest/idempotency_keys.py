"""``Idempotency-Key`` for the ``/v1`` API: one key, one request, one answer.

Stored in the idempotency table (``pk = ingest-key#<key>``) for 24 hours, shared by every replica.
A key is *reserved* with one conditional write before anything is queued — the request's
fingerprint, ``state = in_progress``, a random ``token`` and a short ``lease_until`` — so of any
number of concurrent requests with one key exactly one goes on. The winner publishes and then
*completes* the key with its answer (``state = done``); if it cannot queue the event it *releases*
the key (a delete conditioned on its own token), so the client can retry. The others learn:

* ``Mismatch``: the key belongs to another request (other fingerprint) — 422, nothing queued;
* ``Completed``: the same request was answered — the stored answer again;
* ``InProgress``: the same request is being answered right now — 409 ``request_in_progress``.

A reservation whose lease ran out (its ingest died between reserving and completing) is taken
over by the *same* request only: publishing the same request again is harmless (same event id,
same body), while a different body under that key stays refused.

The token is chosen before the write, so a write whose answer was lost is still the request's own:
botocore's retry of it finds the request's token and goes on, and a request cut off by the answer
deadline while its reservation was unanswered can still release it (``ingest.deadline``).
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

if TYPE_CHECKING:
    from types_aiobotocore_dynamodb import DynamoDBClient

KEY_TTL_SECONDS = 24 * 3600
MAX_KEY_LENGTH = 255
#: How long a reservation keeps others out before the same request may take it over. A publish
#: takes milliseconds; this only matters when the ingest holding the key died.
LEASE_SECONDS = 30
#: What a concurrent duplicate is told to wait (``Retry-After``): the first one is nearly done.
RETRY_AFTER_SECONDS = 1

_CONDITION_FAILED = "ConditionalCheckFailedException"
_IN_PROGRESS = "in_progress"
_DONE = "done"


@dataclass(frozen=True)
class StoredResponse:
    fingerprint: str
    status_code: int
    body: dict[str, Any]


@dataclass(frozen=True)
class Reserved:
    """The key is ours: publish, then ``complete`` (or ``release`` on failure) with ``token``."""

    token: str


@dataclass(frozen=True)
class Completed:
    """The same request was answered already: answer ``response`` again."""

    response: StoredResponse


@dataclass(frozen=True)
class InProgress:
    """The same request is being answered by someone else right now."""

    retry_after: int = RETRY_AFTER_SECONDS


@dataclass(frozen=True)
class Mismatch:
    """The key was used with another request."""


Reservation = Reserved | Completed | InProgress | Mismatch


class IdempotencyKeys:
    def __init__(
        self, dynamodb: DynamoDBClient, table: str, *, clock: Callable[[], float] = time.time
    ) -> None:
        self._db = dynamodb
        self._table = table
        self._clock = clock

    @staticmethod
    def _pk(key: str) -> dict[str, Any]:
        return {"pk": {"S": f"ingest-key#{key}"}}

    async def reserve(self, key: str, fingerprint: str, *, token: str | None = None) -> Reservation:
        """Take ``key`` for the request ``fingerprint``, or say why not.

        ``token`` (default: a new one) is what the reservation is held by: a caller that knows it
        before the write can release a reservation whose write it never saw answered.
        """
        token = token or new_token()
        for _ in range(3):  # the item may expire or be released between our write and our read
            now = int(self._clock())
            try:
                await self._db.put_item(
                    TableName=self._table,
                    Item={
                        **self._pk(key),
                        "state": {"S": _IN_PROGRESS},
                        "fingerprint": {"S": fingerprint},
                        "token": {"S": token},
                        "lease_until": {"N": str(now + LEASE_SECONDS)},
                        "expires_at": {"N": str(now + KEY_TTL_SECONDS)},
                    },
                    # DynamoDB deletes expired items days late: an expired one counts as absent.
                    ConditionExpression="attribute_not_exists(pk) OR expires_at < :now",
                    ExpressionAttributeValues={":now": {"N": str(now)}},
                )
                return Reserved(token)
            except ClientError as exc:
                if exc.response["Error"]["Code"] != _CONDITION_FAILED:
                    raise
            item = await self._read(key, now)
            if item is None:
                continue
            if item["fingerprint"]["S"] != fingerprint:
                return Mismatch()
            if item["state"]["S"] == _DONE:
                return Completed(_stored(item))
            if item["token"]["S"] == token:
                return Reserved(token)  # our own write, answered late: botocore's retry hit it
            if int(item["lease_until"]["N"]) >= now:
                return InProgress()
            taken = await self._take_over(key, str(item["token"]["S"]), now, token)
            if taken is not None:
                return taken
        return InProgress()

    async def _take_over(self, key: str, stale_token: str, now: int, token: str) -> Reserved | None:
        try:
            await self._db.update_item(
                TableName=self._table,
                Key=self._pk(key),
                UpdateExpression="SET #token = :token, lease_until = :lease",
                ConditionExpression="#state = :progress AND #token = :stale",
                ExpressionAttributeNames={"#token": "token", "#state": "state"},
                ExpressionAttributeValues={
                    ":token": {"S": token},
                    ":lease": {"N": str(now + LEASE_SECONDS)},
                    ":progress": {"S": _IN_PROGRESS},
                    ":stale": {"S": stale_token},
                },
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] != _CONDITION_FAILED:
                raise
            return None
        return Reserved(token)

    async def complete(self, key: str, token: str, response: StoredResponse) -> None:
        """Store the answer under our reservation (a lost reservation keeps the taker's answer)."""
        try:
            await self._db.update_item(
                TableName=self._table,
                Key=self._pk(key),
                UpdateExpression="SET #state = :done, status_code = :status, #response = :response",
                ConditionExpression="#state = :progress AND #token = :token",
                ExpressionAttributeNames={"#state": "state", "#token": "token", "#response": "response"},
                ExpressionAttributeValues={
                    ":done": {"S": _DONE},
                    ":status": {"N": str(response.status_code)},
                    ":response": {"S": json.dumps(response.body, sort_keys=True)},
                    ":progress": {"S": _IN_PROGRESS},
                    ":token": {"S": token},
                },
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] != _CONDITION_FAILED:
                raise

    async def release(self, key: str, token: str) -> bool:
        """Give the key back after a failure, so the same request can be sent again.

        False if ``token`` did not hold it (not reserved, reserved by another, or completed).
        """
        try:
            await self._db.delete_item(
                TableName=self._table,
                Key=self._pk(key),
                ConditionExpression="#state = :progress AND #token = :token",
                ExpressionAttributeNames={"#state": "state", "#token": "token"},
                ExpressionAttributeValues={":progress": {"S": _IN_PROGRESS}, ":token": {"S": token}},
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] != _CONDITION_FAILED:
                raise
            return False
        return True

    async def holder(self, key: str) -> str | None:
        """The token holding ``key`` (in progress or done), or None if nobody does."""
        item = await self._read(key, int(self._clock()))
        return None if item is None else str(item["token"]["S"])

    async def _read(self, key: str, now: int) -> dict[str, Any] | None:
        response = await self._db.get_item(TableName=self._table, Key=self._pk(key), ConsistentRead=True)
        item = response.get("Item")
        if item is None or int(item["expires_at"]["N"]) < now:
            return None
        return dict(item)


def new_token() -> str:
    return uuid.uuid4().hex


def _stored(item: dict[str, Any]) -> StoredResponse:
    return StoredResponse(
        fingerprint=str(item["fingerprint"]["S"]),
        status_code=int(item["status_code"]["N"]),
        body=json.loads(item["response"]["S"]),
    )
