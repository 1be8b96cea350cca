"""The ledger: per event, where it was routed and each integration's status (DynamoDB).

One item per event, keyed by ``event_id``. Per-integration state is kept in flat attributes
(``st_<integration>``, ``at_<integration>``, ``err_<integration>``, ``ts_<integration>``,
``sent_<integration>``) so each update is one conditional ``UpdateItem`` with no read first.

The publisher writes the entry with each integration ``queued`` *before* it sends (so a reused
natural key is refused before anything is queued), then records the outcome of the send: a
``sent_<integration>`` marker for each queue SQS accepted the event on, ``not_queued`` with the
error for each it did not. The consumer runtime moves each integration through ``processing`` →
``done`` (or ``retrying`` / ``dead``); its marks override ``queued`` and ``not_queued``.
``GET /v1/events/{id}`` and ``billing events show`` read it; ``billing events replay`` re-sends its
stored ``body``.

**The ledger never claims ``queued`` for an event that is not on a queue.** A writer that stopped
between the ledger write and the send leaves ``queued`` with no ``sent`` marker: such an
integration reads as ``not_queued`` once ``SEND_GRACE_SECONDS`` have passed since the entry was
written (before that, the send may still be under way). Sending the same request again sends the
event again, and its marker turns the integration back to ``queued``.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError
from pydantic import BaseModel, Field

from lovia_billing._canonical import body_hash
from lovia_billing._errors import BillingError
from lovia_billing._events import DomainEvent
from lovia_billing.ledger_index import index_attributes, invoice_of, sort_key, xendit_ids_of
from lovia_billing.topology import Integration

if TYPE_CHECKING:
    from types_aiobotocore_dynamodb import DynamoDBClient

#: Errors are cut to this many characters in the ledger (DynamoDB items are limited to 400 KB).
MAX_ERROR_CHARS = 2000
#: An integration still ``queued`` without a ``sent`` marker this long after its entry was written
#: is reported ``not_queued``: the send either failed unrecorded or never happened. A send that
#: succeeds takes milliseconds; even every retry of the publisher and of botocore fits in this.
SEND_GRACE_SECONDS = 60
NEVER_SENT = (
    f"not confirmed on its queue within {SEND_GRACE_SECONDS} s of being recorded "
    "(the publisher stopped between the ledger and the queue); send the same request again"
)


class IntegrationStatus(StrEnum):
    QUEUED = "queued"
    NOT_QUEUED = "not_queued"  # recorded, but SQS did not take it: retry the request (or replay)
    PROCESSING = "processing"
    DONE = "done"
    RETRYING = "retrying"
    DEAD = "dead"


class LedgerConflict(BillingError):
    """The event id is already in the ledger with a different body (a reused natural key)."""


class IntegrationState(BaseModel):
    status: IntegrationStatus
    attempts: int = 0
    last_error: str | None = None
    updated_at: datetime | None = None


class LedgerEntry(BaseModel):
    event_id: str
    event_type: str
    customer_id: str
    body: str
    routed_to: list[str]
    correlation_id: str | None = None
    created_at: datetime
    integrations: dict[str, IntegrationState]
    invoice_id: str | None = Field(default=None, description="our invoice the event is about, if any")
    xendit_ids: list[str] = Field(default_factory=list, description="the Xendit ids the event names")

    @property
    def sort_key(self) -> str:
        """The entry's place in the ledger's indexes (``ledger_index.sort_key``)."""
        return sort_key(self.created_at, self.event_id)


_SEND_MARKS = "send_marks"
_BATCH_GET_LIMIT = 100  # DynamoDB's BatchGetItem maximum
_BATCH_GET_ATTEMPTS = 5
_CONDITION_FAILED = "ConditionalCheckFailedException"


def now_iso() -> str:
    """The ledger's timestamps (``created_at``, ``ts_<integration>``): UTC, ISO 8601 with offset."""
    return datetime.now(UTC).isoformat()


class Ledger:
    """Reads and writes ledger items in one table."""

    def __init__(self, dynamodb: DynamoDBClient, table: str) -> None:
        self._db = dynamodb
        self._table = table

    async def record_queued(
        self,
        event: DomainEvent,
        integrations: Sequence[Integration],
        *,
        correlation_id: str,
        body: str | None = None,
    ) -> None:
        """Create the entry (or confirm it) with each integration ``queued`` unless it already moved on.

        The common case is one conditional ``PutItem`` (a new event). A repeat reads the entry,
        refuses a different body with ``LedgerConflict`` (a reused natural key), and only adds
        integrations the entry does not have yet, never resetting one that moved on.
        """
        body = body if body is not None else event.body()  # the publisher passes the one it sends
        fingerprint = body_hash(body)
        created_at = datetime.now(UTC)
        indexed = index_attributes(
            event.model_dump(mode="json"),
            event_id=event.event_id,
            created_at=created_at,
            correlation_id=correlation_id,
        )
        item: dict[str, Any] = {
            "event_id": {"S": event.event_id},
            "body": {"S": body},
            "body_hash": {"S": fingerprint},
            "event_type": {"S": event.event_type.value},
            "customer_id": {"S": event.customer_id},
            "routed_to": {"L": [{"S": i.value} for i in integrations]},
            "correlation_id": {"S": correlation_id},
            "created_at": {"S": created_at.isoformat()},
            **{name: {"S": value} for name, value in indexed.items()},
            # Entries with this flag record their sends; older ones are never read as not_queued.
            _SEND_MARKS: {"BOOL": True},
        }
        for integration in integrations:
            item[f"st_{integration.value}"] = {"S": IntegrationStatus.QUEUED.value}
            item[f"at_{integration.value}"] = {"N": "0"}
        try:
            await self._db.put_item(
                TableName=self._table, Item=item, ConditionExpression="attribute_not_exists(event_id)"
            )
            return
        except ClientError as exc:
            if exc.response["Error"]["Code"] != _CONDITION_FAILED:
                raise
        existing = (
            await self._db.get_item(
                TableName=self._table, Key={"event_id": {"S": event.event_id}}, ConsistentRead=True
            )
        ).get("Item", {})
        if existing.get("body_hash", {}).get("S") != fingerprint:
            raise LedgerConflict(f"event {event.event_id} already exists with a different body")
        missing = [i for i in integrations if f"st_{i.value}" not in existing]
        if missing:
            await self._add_integrations(event.event_id, missing)

    async def _add_integrations(self, event_id: str, integrations: Sequence[Integration]) -> None:
        names: dict[str, str] = {"#routed": "routed_to"}
        sets = ["#routed = list_append(#routed, :new)"]
        for integration in integrations:
            key = integration.value
            names[f"#st_{key}"], names[f"#at_{key}"] = f"st_{key}", f"at_{key}"
            sets.append(f"#st_{key} = if_not_exists(#st_{key}, :queued)")
            sets.append(f"#at_{key} = if_not_exists(#at_{key}, :zero)")
        await self._db.update_item(
            TableName=self._table,
            Key={"event_id": {"S": event_id}},
            UpdateExpression="SET " + ", ".join(sets),
            ExpressionAttributeNames=names,
            ExpressionAttributeValues={
                ":new": {"L": [{"S": i.value} for i in integrations]},
                ":queued": {"S": IntegrationStatus.QUEUED.value},
                ":zero": {"N": "0"},
            },
        )

    async def mark(
        self,
        event_id: str,
        integration: Integration | str,
        status: IntegrationStatus,
        *,
        attempt: int | None = None,
        error: str | None = None,
    ) -> None:
        """Set one integration's status. ``done`` is final: no later mark moves it back.

        ``queued`` is only marked by whoever has just put the event on its queue (a redrive, a
        replay), so it records the send as well.
        """
        key = Integration(integration).value
        # DynamoDB refuses unused expression names, so only the attributes touched are named.
        names = {"#st": f"st_{key}", "#ts": f"ts_{key}"}
        values: dict[str, Any] = {":st": {"S": status.value}, ":now": {"S": now_iso()}}
        sets = ["#st = :st", "#ts = :now"]
        removes: list[str] = []
        if status is IntegrationStatus.QUEUED:
            names["#sent"] = f"sent_{key}"
            sets.append("#sent = :now")
        if attempt is not None:
            names["#at"] = f"at_{key}"
            sets.append("#at = :at")
            values[":at"] = {"N": str(attempt)}
        if error is not None:
            names["#err"] = f"err_{key}"
            sets.append("#err = :err")
            values[":err"] = {"S": error[:MAX_ERROR_CHARS]}
        elif status is IntegrationStatus.DONE:
            names["#err"] = f"err_{key}"
            removes.append("#err")
        expression = "SET " + ", ".join(sets) + (" REMOVE " + ", ".join(removes) if removes else "")
        condition = "attribute_exists(event_id)"
        if status is not IntegrationStatus.DONE:
            condition += " AND (attribute_not_exists(#st) OR #st <> :done)"
            values[":done"] = {"S": IntegrationStatus.DONE.value}
        try:
            await self._db.update_item(
                TableName=self._table,
                Key={"event_id": {"S": event_id}},
                UpdateExpression=expression,
                ConditionExpression=condition,
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
            )
        except ClientError as exc:
            # Already done, or an event the ledger never saw (e.g. sent to a queue by hand): the
            # ledger is a record, never a reason to fail the message.
            if exc.response["Error"]["Code"] != _CONDITION_FAILED:
                raise

    async def mark_sent(self, event_id: str, integrations: Sequence[Integration]) -> None:
        """Record that SQS took the event on each of ``integrations``' queues (one ``UpdateItem``).

        An integration left ``not_queued`` by an earlier failed send goes back to ``queued``; any
        other status (a consumer's mark) stays.
        """
        if not integrations:
            return
        now = {":now": {"S": now_iso()}}
        names = {f"#sent_{i.value}": f"sent_{i.value}" for i in integrations}
        try:
            response = await self._db.update_item(
                TableName=self._table,
                Key={"event_id": {"S": event_id}},
                UpdateExpression="SET " + ", ".join(f"{name} = :now" for name in names),
                ConditionExpression="attribute_exists(event_id)",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=now,
                ReturnValues="ALL_NEW",
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] != _CONDITION_FAILED:
                raise
            return  # an event the ledger never saw
        item = response.get("Attributes", {})
        for integration in integrations:
            if item.get(f"st_{integration.value}", {}).get("S") == IntegrationStatus.NOT_QUEUED.value:
                await self._requeued(event_id, integration)

    async def _requeued(self, event_id: str, integration: Integration) -> None:
        key = integration.value
        await self._conditional_update(
            event_id,
            "SET #st = :queued, #ts = :now REMOVE #err",
            "#st = :not_queued",
            {"#st": f"st_{key}", "#ts": f"ts_{key}", "#err": f"err_{key}"},
            {
                ":queued": {"S": IntegrationStatus.QUEUED.value},
                ":not_queued": {"S": IntegrationStatus.NOT_QUEUED.value},
                ":now": {"S": now_iso()},
            },
        )

    async def mark_not_queued(self, event_id: str, integration: Integration, error: str) -> None:
        """Record that the send to ``integration``'s queue failed with ``error``.

        Only over ``queued`` (or an earlier ``not_queued``) with no ``sent`` marker: if an earlier
        send of the same event succeeded, or a consumer already has it, the event is on its way.
        """
        key = integration.value
        await self._conditional_update(
            event_id,
            "SET #st = :not_queued, #ts = :now, #err = :err",
            "(#st = :queued OR #st = :not_queued) AND attribute_not_exists(#sent)",
            {"#st": f"st_{key}", "#ts": f"ts_{key}", "#err": f"err_{key}", "#sent": f"sent_{key}"},
            {
                ":queued": {"S": IntegrationStatus.QUEUED.value},
                ":not_queued": {"S": IntegrationStatus.NOT_QUEUED.value},
                ":now": {"S": now_iso()},
                ":err": {"S": error[:MAX_ERROR_CHARS]},
            },
        )

    async def _conditional_update(
        self, event_id: str, update: str, condition: str, names: dict[str, str], values: dict[str, Any]
    ) -> None:
        try:
            await self._db.update_item(
                TableName=self._table,
                Key={"event_id": {"S": event_id}},
                UpdateExpression=update,
                ConditionExpression=condition,
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] != _CONDITION_FAILED:
                raise

    async def get(self, event_id: str) -> LedgerEntry | None:
        response = await self._db.get_item(
            TableName=self._table, Key={"event_id": {"S": event_id}}, ConsistentRead=True
        )
        item = response.get("Item")
        return None if item is None else entry_from_item(item)

    async def get_many(self, event_ids: Sequence[str]) -> dict[str, LedgerEntry]:
        """The entries of ``event_ids`` that exist, read consistently (``BatchGetItem``, 100 a call)."""
        found: dict[str, LedgerEntry] = {}
        wanted = list(dict.fromkeys(event_ids))
        for start in range(0, len(wanted), _BATCH_GET_LIMIT):
            keys: list[Any] = [
                {"event_id": {"S": event_id}} for event_id in wanted[start : start + _BATCH_GET_LIMIT]
            ]
            for _attempt in range(_BATCH_GET_ATTEMPTS):
                request: Any = {self._table: {"Keys": keys, "ConsistentRead": True}}
                response = await self._db.batch_get_item(RequestItems=request)
                for item in response.get("Responses", {}).get(self._table, []):
                    entry = entry_from_item(item)
                    found[entry.event_id] = entry
                unprocessed: Any = response.get("UnprocessedKeys", {}).get(self._table, {})
                keys = list(unprocessed.get("Keys", []))
                if not keys:
                    break
                await asyncio.sleep(0.05 * (_attempt + 1))  # throttled: DynamoDB asks to come back
            else:
                raise BillingError(f"the ledger did not return {len(keys)} entries after retries")
        return found


def entry_from_item(item: dict[str, Any], *, now: datetime | None = None) -> LedgerEntry:
    """Decode a DynamoDB item (low-level attribute-value format) into a ``LedgerEntry``.

    An integration still ``queued`` with no ``sent`` marker ``SEND_GRACE_SECONDS`` after the entry
    was written reads as ``not_queued`` (see the module's docstring).
    """

    def text(name: str) -> str | None:
        value = item.get(name)
        return None if value is None else str(value.get("S"))

    created_at = datetime.fromisoformat(text("created_at") or now_iso())
    overdue = bool(item.get(_SEND_MARKS, {}).get("BOOL")) and (now or datetime.now(UTC)) - created_at > (
        timedelta(seconds=SEND_GRACE_SECONDS)
    )
    routed = [str(v["S"]) for v in item.get("routed_to", {}).get("L", [])]
    states: dict[str, IntegrationState] = {}
    for integration in routed:
        status = text(f"st_{integration}")
        if status is None:
            continue
        updated = text(f"ts_{integration}")
        state = IntegrationState(
            status=IntegrationStatus(status),
            attempts=int(item.get(f"at_{integration}", {}).get("N", "0")),
            last_error=text(f"err_{integration}"),
            updated_at=datetime.fromisoformat(updated) if updated else None,
        )
        if overdue and state.status is IntegrationStatus.QUEUED and f"sent_{integration}" not in item:
            state = state.model_copy(
                update={"status": IntegrationStatus.NOT_QUEUED, "last_error": NEVER_SENT}
            )
        states[integration] = state
    body = text("body") or ""
    data = _event_data(body)
    return LedgerEntry(
        event_id=str(item["event_id"]["S"]),
        event_type=text("event_type") or "",
        customer_id=text("customer_id") or "",
        body=body,
        routed_to=routed,
        correlation_id=text("correlation_id"),
        created_at=created_at,
        integrations=states,
        invoice_id=invoice_of(data),
        xendit_ids=xendit_ids_of(data),
    )


def _event_data(body: str) -> dict[str, Any]:
    """The stored body as data, for its ids only (numbers are not read as floats, nor needed)."""
    try:
        data = json.loads(body, parse_float=str)
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}
