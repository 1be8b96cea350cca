"""Idempotency claims kept on the event's ledger entry: one item, one conditional write per change.

The consumer runtime used to write four items per message: claim (idempotency table), ledger
``processing``, done (idempotency table), ledger ``done``. Both records are about the same
``(event, integration)``, so here they are one: the claim *is* the ledger's ``processing`` and the
idempotency record's ``done`` *is* the ledger's ``done``. Per message, two conditional
``UpdateItem`` on the ledger entry instead of four writes (``bench/README.md``, requests per flow).

Per integration the entry carries, beside the ledger's ``st_<i>`` / ``at_<i>`` / ``ts_<i>``:
``own_<i>`` (the claiming worker) and ``exp_<i>`` (epoch seconds when its claim lapses).

* ``claim``: ``st_<i> = processing`` with owner and expiry, only if the status is not ``done`` and no
  other worker's claim is live (an expired claim, or our own, may be taken again). A refusal returns
  the old item (``ReturnValuesOnConditionCheckFailure``), so telling *done* from *held* needs no
  read.
* ``mark_done``: ``st_<i> = done``; the ledger never moves a ``done`` back (``Ledger.mark``).
* ``release``: drops our own claim (``own``/``exp``); the runtime then marks ``retrying`` or ``dead``.
* ``clear`` (``billing events replay --force``): back to ``queued`` with no claim.

An event the ledger never saw (sent to a queue by hand, a test publishing without a ledger) has no
entry to hold a claim: for it every call falls back to the ``IdempotencyStore`` (the idempotency
table), exactly as before.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from lovia_billing.idempotency import Claim, IdempotencyRecord, IdempotencyStore, RecordStatus
from lovia_billing.ledger import IntegrationStatus, now_iso
from lovia_billing.topology import Integration

if TYPE_CHECKING:
    from types_aiobotocore_dynamodb import DynamoDBClient

__all__ = ["LedgerClaims"]

_CONDITION_FAILED = "ConditionalCheckFailedException"
#: A ``done`` entry never lapses; ``get`` reports it with this expiry.
_FOREVER = 2**62
_DONE = IntegrationStatus.DONE.value
_PROCESSING = IntegrationStatus.PROCESSING.value


def _names(integration: Integration | str) -> dict[str, str]:
    key = Integration(integration).value
    return {"#st": f"st_{key}", "#own": f"own_{key}", "#exp": f"exp_{key}", "#ts": f"ts_{key}"}


class LedgerClaims:
    """The claims of one consumer, on the ledger table, with ``fallback`` for unrecorded events."""

    #: The runtime's own ``processing`` and ``done`` ledger marks are written by ``claim`` and
    #: ``mark_done`` here, so it skips them.
    records_ledger = True

    def __init__(
        self,
        dynamodb: DynamoDBClient,
        ledger_table: str,
        fallback: IdempotencyStore,
        *,
        claim_seconds: int = 120,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._db = dynamodb
        self._table = ledger_table
        self._fallback = fallback
        self._claim_seconds = claim_seconds
        self._clock = clock

    async def claim(
        self, integration: Integration | str, event_id: str, *, owner: str, attempt: int | None = None
    ) -> Claim:
        """Take the claim (and mark ``processing``) unless the event is done or someone else holds it."""
        now = int(self._clock())
        names = _names(integration)
        values: dict[str, Any] = {
            ":processing": {"S": _PROCESSING},
            ":done": {"S": _DONE},
            ":owner": {"S": owner},
            ":until": {"N": str(now + self._claim_seconds)},
            ":now": {"N": str(now)},
            ":ts": {"S": now_iso()},
        }
        update = "SET #st = :processing, #own = :owner, #exp = :until, #ts = :ts"
        if attempt is not None:
            names["#at"] = f"at_{Integration(integration).value}"
            values[":at"] = {"N": str(attempt)}
            update += ", #at = :at"
        try:
            await self._db.update_item(
                TableName=self._table,
                Key={"event_id": {"S": event_id}},
                UpdateExpression=update,
                ConditionExpression=(
                    "attribute_exists(event_id) AND (attribute_not_exists(#st) OR #st <> :done)"
                    " AND (attribute_not_exists(#exp) OR #exp < :now OR #own = :owner)"
                ),
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] != _CONDITION_FAILED:
                raise
            response: dict[str, Any] = dict(exc.response)  # botocore's type does not name "Item"
            old: dict[str, Any] = response.get("Item") or {}
            if not old:
                return await self._fallback.claim(integration, event_id, owner=owner)
            return Claim.DONE if old.get(names["#st"], {}).get("S") == _DONE else Claim.HELD
        return Claim.ACQUIRED

    async def renew(self, integration: Integration | str, event_id: str, *, owner: str) -> bool:
        """Push our live claim's end out by ``claim_seconds``; False if it was lost (or is elsewhere)."""
        now = int(self._clock())
        try:
            await self._db.update_item(
                TableName=self._table,
                Key={"event_id": {"S": event_id}},
                UpdateExpression="SET #exp = :until",
                ConditionExpression="#st = :processing AND #own = :owner",
                ExpressionAttributeNames={k: v for k, v in _names(integration).items() if k != "#ts"},
                ExpressionAttributeValues={
                    ":until": {"N": str(now + self._claim_seconds)},
                    ":processing": {"S": _PROCESSING},
                    ":owner": {"S": owner},
                },
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] != _CONDITION_FAILED:
                raise
            return await self._fallback.renew(integration, event_id, owner=owner)
        return True

    async def mark_done(self, integration: Integration | str, event_id: str, *, owner: str) -> None:
        """Record success: the ledger's ``done``, which no later claim or mark moves back."""
        names = _names(integration)
        names["#err"] = f"err_{Integration(integration).value}"
        try:
            await self._db.update_item(
                TableName=self._table,
                Key={"event_id": {"S": event_id}},
                UpdateExpression="SET #st = :done, #ts = :ts REMOVE #err, #exp",
                ConditionExpression="attribute_exists(event_id)",
                ExpressionAttributeNames={k: v for k, v in names.items() if k != "#own"},
                ExpressionAttributeValues={":done": {"S": _DONE}, ":ts": {"S": now_iso()}},
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] != _CONDITION_FAILED:
                raise
            await self._fallback.mark_done(integration, event_id, owner=owner)

    async def release(self, integration: Integration | str, event_id: str, *, owner: str) -> None:
        """Drop our own claim after a failure (someone else's claim, or ``done``, stays)."""
        try:
            await self._db.update_item(
                TableName=self._table,
                Key={"event_id": {"S": event_id}},
                UpdateExpression="REMOVE #own, #exp",
                ConditionExpression="#own = :owner AND #st <> :done",
                ExpressionAttributeNames={k: v for k, v in _names(integration).items() if k != "#ts"},
                ExpressionAttributeValues={":owner": {"S": owner}, ":done": {"S": _DONE}},
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] != _CONDITION_FAILED:
                raise
            await self._fallback.release(integration, event_id, owner=owner)

    async def clear(self, integration: Integration | str, event_id: str) -> None:
        """Forget the claim and the ``done`` (``billing events replay --force``): ``queued`` again."""
        try:
            await self._db.update_item(
                TableName=self._table,
                Key={"event_id": {"S": event_id}},
                UpdateExpression="SET #st = :queued, #ts = :ts REMOVE #own, #exp",
                ConditionExpression="attribute_exists(event_id)",
                ExpressionAttributeNames=_names(integration),
                ExpressionAttributeValues={
                    ":queued": {"S": IntegrationStatus.QUEUED.value},
                    ":ts": {"S": now_iso()},
                },
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] != _CONDITION_FAILED:
                raise
        await self._fallback.clear(integration, event_id)

    async def get(self, integration: Integration | str, event_id: str) -> IdempotencyRecord | None:
        """The live claim or ``done`` (absent, expired, or any other status: None)."""
        names = _names(integration)
        response = await self._db.get_item(
            TableName=self._table, Key={"event_id": {"S": event_id}}, ConsistentRead=True
        )
        item = response.get("Item")
        if item is None:
            return await self._fallback.get(integration, event_id)
        status = item.get(names["#st"], {}).get("S")
        owner = str(item.get(names["#own"], {}).get("S", ""))
        key = Integration(integration).value
        if status == _DONE:
            return IdempotencyRecord(key, event_id, RecordStatus.DONE, owner, _FOREVER)
        expires_at = int(item.get(names["#exp"], {}).get("N", "0"))
        if status != _PROCESSING or not owner or expires_at < int(self._clock()):
            return None
        return IdempotencyRecord(key, event_id, RecordStatus.IN_PROGRESS, owner, expires_at)
