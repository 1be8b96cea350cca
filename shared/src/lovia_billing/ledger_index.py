"""The ledger's secondary indexes: every event about a customer, an invoice, a Xendit id, a request.

Defined once, here: the ledger writes their attributes when it records an entry
(``index_attributes``), ``provision`` (the local stand-in) and the CDK app create them, and
``ledger_search`` queries them.

Every index has the same sort key, ``ix_sort`` = ``<created_at, UTC, microseconds>#<event_id>``: unique
and in time order, so a page ends at one exact key (keyset pagination) and several indexes merge by
comparing keys. Every index key is a dedicated ``ix_*`` attribute written only when it has a value
(DynamoDB refuses an empty string as an index key, and an index holds only the items that have its
key: the indexes stay sparse). Projections are ``KEYS_ONLY``: an entry's statuses are read from the
table itself, consistently, and the many status updates of an entry never write an index.

Pure domain: no I/O imports here.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

SORT_ATTRIBUTE: Final = "ix_sort"
#: How many Xendit ids of one event are indexed (a refund names an invoice, a payment and a refund).
XENDIT_SLOTS: Final = 3
#: DynamoDB's limit for an index's partition key value is 2048 bytes; longer values are not indexed.
MAX_KEY_BYTES: Final = 1024


@dataclass(frozen=True)
class LedgerIndex:
    """One global secondary index of the ledger table: ``partition`` plus ``ix_sort``, keys only."""

    name: str
    partition: str
    sort: str = SORT_ATTRIBUTE


BY_CUSTOMER: Final = LedgerIndex("by-customer", "ix_customer")
BY_INVOICE: Final = LedgerIndex("by-invoice", "ix_invoice")
BY_CORRELATION: Final = LedgerIndex("by-correlation", "ix_correlation")
#: A Xendit id may be in any of an event's slots, so a search by Xendit id queries every slot.
BY_XENDIT: Final = tuple(LedgerIndex(f"by-xendit-{n}", f"ix_xendit_{n}") for n in range(1, XENDIT_SLOTS + 1))
#: Every event by the UTC day it was recorded: listing without a customer, invoice or id.
BY_DAY: Final = LedgerIndex("by-day", "ix_day")

LEDGER_INDEXES: Final[tuple[LedgerIndex, ...]] = (BY_CUSTOMER, BY_INVOICE, BY_CORRELATION, *BY_XENDIT, BY_DAY)

#: Fields of an event that hold a Xendit id, in the order they take the slots.
_XENDIT_FIELDS: Final = ("xendit_invoice_id", "payment_id", "refund_id", "object_id")
#: The same, inside a callback's payload (``data`` of an envelope, or a flat body).
_PAYLOAD_XENDIT_FIELDS: Final = ("id", "payment_id", "payment_request_id", "callback_virtual_account_id")


def sort_key(created_at: datetime, event_id: str) -> str:
    """``ix_sort`` of an entry: fixed-width UTC time to the microsecond, then the id (ties)."""
    return f"{time_key(created_at)}#{event_id}"


def time_key(moment: datetime) -> str:
    """A moment as the time part of ``ix_sort`` (compares as text in time order)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def day_key(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d")


def _payload(event: Mapping[str, Any]) -> Mapping[str, Any]:
    """A callback's own body: ``data`` of an envelope, else the flat body; empty for other events."""
    payload = event.get("payload")
    if not isinstance(payload, Mapping):
        return {}
    data = payload.get("data", payload)
    return data if isinstance(data, Mapping) else {}


def _text(value: Any) -> str | None:
    if isinstance(value, str | int) and not isinstance(value, bool):
        text = str(value).strip()
        if text and len(text.encode()) <= MAX_KEY_BYTES:
            return text
    return None


def invoice_of(event: Mapping[str, Any]) -> str | None:
    """Our invoice id: the event's ``invoice_id``; a Xendit callback's ``external_id`` (what we gave
    Xendit), or its ``lovia_invoice_id`` metadata or reference id (the owner hint xendit_sync checks)."""
    payload = _payload(event)
    metadata = payload.get("metadata")
    candidates = (
        event.get("invoice_id"),
        event.get("external_id"),
        metadata.get("lovia_invoice_id") if isinstance(metadata, Mapping) else None,
        payload.get("external_id"),
        payload.get("reference_id"),
    )
    return next((text for text in map(_text, candidates) if text), None)


def xendit_ids_of(event: Mapping[str, Any]) -> list[str]:
    """Every Xendit id an event names (invoice, payment request, cycle, payment, refund...), once each."""
    payload = _payload(event)
    found: list[str] = []
    values = [event.get(name) for name in _XENDIT_FIELDS]
    values += [payload.get(name) for name in _PAYLOAD_XENDIT_FIELDS]
    for text in map(_text, values):
        if text and text not in found:
            found.append(text)
    return found


def index_attributes(
    event: Mapping[str, Any], *, event_id: str, created_at: datetime, correlation_id: str | None
) -> dict[str, str]:
    """The ``ix_*`` attributes of a new ledger entry, from the event as JSON (``model_dump``)."""
    attributes = {SORT_ATTRIBUTE: sort_key(created_at, event_id), BY_DAY.partition: day_key(created_at)}
    values = {
        BY_CUSTOMER.partition: _text(event.get("customer_id")),
        BY_INVOICE.partition: invoice_of(event),
        BY_CORRELATION.partition: _text(correlation_id),
    }
    for index, xendit_id in zip(BY_XENDIT, xendit_ids_of(event), strict=False):
        values[index.partition] = xendit_id
    attributes.update({name: value for name, value in values.items() if value})
    return attributes


def xendit_slots(item_values: Mapping[str, str]) -> Iterator[str]:
    """The Xendit ids held in an item's slots (``ix_xendit_1``...)."""
    for index in BY_XENDIT:
        value = item_values.get(index.partition)
        if value:
            yield value
