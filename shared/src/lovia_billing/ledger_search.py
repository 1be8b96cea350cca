"""Finding ledger entries: by customer, invoice, Xendit id or correlation id, newest first, by pages.

One search drives one kind of index (``ledger_index``): a Xendit id queries every Xendit slot and
merges them; an invoice, correlation or customer id its own index; with none of these, the day
index is walked back from the newest day. Keys come from the index (keys only), entries from the
table (``BatchGetItem``, consistent), and every condition of the filter is checked on the entry, so
an index only narrows what is read. A page ends at one entry's ``ix_sort``; the cursor is that key,
so a page never repeats or skips an entry however many are written meanwhile. A page that had to
examine ``max_examined`` entries without filling up ends early with a cursor to go on from.

The GraphQL API, the operators' console and ``billing events search`` all search through here.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Final

from lovia_billing._errors import BillingError
from lovia_billing.ledger import IntegrationStatus, Ledger, LedgerEntry
from lovia_billing.ledger_index import (
    BY_CORRELATION,
    BY_CUSTOMER,
    BY_DAY,
    BY_INVOICE,
    BY_XENDIT,
    MAX_KEY_BYTES,
    LedgerIndex,
    day_key,
    sort_key,
    time_key,
)
from lovia_billing.topology import Integration

if TYPE_CHECKING:
    from types_aiobotocore_dynamodb import DynamoDBClient

#: The most entries one page returns.
MAX_PAGE_SIZE: Final = 100
#: The most entries one page reads before it ends early (a filter that matches few entries).
MAX_EXAMINED: Final = 1000
#: Listing with no customer, invoice or id looks back this far unless ``since`` says otherwise...
DEFAULT_LOOKBACK_DAYS: Final = 30
#: ...and one page walks back at most this many days of the day index before it ends early.
MAX_DAYS_PER_PAGE: Final = 31
_QUERY_LIMIT: Final = 100

#: Which status needs an operator first, when one integration has several events.
URGENCY: Final[tuple[IntegrationStatus, ...]] = (
    IntegrationStatus.DEAD,
    IntegrationStatus.NOT_QUEUED,
    IntegrationStatus.RETRYING,
    IntegrationStatus.PROCESSING,
    IntegrationStatus.QUEUED,
    IntegrationStatus.DONE,
)


class InvalidSearch(BillingError):
    """A cursor that is not one of ours, or a page size out of range."""


@dataclass(frozen=True)
class EventFilter:
    """What to look for; every given condition must hold."""

    customer_id: str | None = None
    invoice_id: str | None = None
    xendit_id: str | None = None
    correlation_id: str | None = None
    status: IntegrationStatus | None = None
    integration: Integration | None = None
    since: datetime | None = None

    def matches(self, entry: LedgerEntry) -> bool:
        checks = (
            self.customer_id is None or entry.customer_id == self.customer_id,
            self.invoice_id is None or entry.invoice_id == self.invoice_id,
            self.xendit_id is None or self.xendit_id in entry.xendit_ids,
            self.correlation_id is None or entry.correlation_id == self.correlation_id,
            self.since is None or entry.created_at >= self.since,
        )
        return all(checks) and self._status_matches(entry)

    def _status_matches(self, entry: LedgerEntry) -> bool:
        if self.integration is not None:
            state = entry.integrations.get(self.integration.value)
            if state is None:
                return False
            return self.status is None or state.status is self.status
        return self.status is None or any(s.status is self.status for s in entry.integrations.values())


@dataclass(frozen=True)
class EventPage:
    entries: list[LedgerEntry]
    has_next_page: bool
    end_cursor: str | None


_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_DIGITS: Final = "0123456789abcdefghijklmnopqrstuvwxyz"


def encode_cursor(sort_key: str) -> str:
    """A page's end as ``<microseconds since 1970, base 36>.<event id>``: short, URL- and shell-safe,
    and never broken by a terminal (no ``+``, ``/`` or ``=``)."""
    moment, _, event_id = sort_key.partition("#")
    micros = (datetime.strptime(moment, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC) - _EPOCH) // timedelta(
        microseconds=1
    )
    digits = ""
    while True:
        micros, digit = divmod(micros, 36)
        digits = _DIGITS[digit] + digits
        if not micros:
            break
    return f"{digits}.{event_id}"


def decode_cursor(cursor: str) -> str:
    """The ``ix_sort`` key a cursor stands for; ``InvalidSearch`` for anything else."""
    digits, dot, event_id = cursor.partition(".")
    try:
        # An empty event id is a day's start (where a walk of the day index stopped).
        if not (dot and digits.isalnum()) or len(digits) > 13:
            raise ValueError(cursor)
        moment = _EPOCH + timedelta(microseconds=int(digits, 36))
    except (ValueError, OverflowError) as exc:
        raise InvalidSearch("`after` is not a cursor this API gave out") from exc
    return sort_key(moment, event_id)


@dataclass
class _Walk:
    """Where a page's walk of the day index stopped short of ``since`` (the start of a day)."""

    stopped_before: str | None = None


def _time_of_day(moment: datetime) -> timedelta:
    utc = moment.astimezone(UTC)
    return timedelta(hours=utc.hour, minutes=utc.minute, seconds=utc.second, microseconds=utc.microsecond)


@dataclass(frozen=True)
class _Key:
    sort: str
    event_id: str


class LedgerSearch:
    """Searches one ledger table through its indexes."""

    def __init__(
        self,
        dynamodb: DynamoDBClient,
        table: str,
        *,
        max_examined: int = MAX_EXAMINED,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._db = dynamodb
        self._table = table
        self._ledger = Ledger(dynamodb, table)
        self._max_examined = max_examined
        self._clock = clock

    async def page(self, search: EventFilter, *, first: int, after: str | None = None) -> EventPage:
        """Up to ``first`` matching entries, newest first, after the cursor ``after``."""
        if not 1 <= first <= MAX_PAGE_SIZE:
            raise InvalidSearch(f"`first` must be 1 to {MAX_PAGE_SIZE}")
        before = decode_cursor(after) if after else None
        if not _indexable(search):  # an id no entry can have: DynamoDB would refuse to look it up
            return EventPage([], False, None)
        found: list[tuple[_Key, LedgerEntry]] = []
        examined = 0
        last: _Key | None = None
        walk = _Walk()
        batch = max(first + 1, 25) if _filters_beyond_index(search) else first + 1
        async for keys in _chunks(self._keys(search, before, walk), min(batch, _QUERY_LIMIT)):
            entries = await self._ledger.get_many([k.event_id for k in keys])
            for key in keys:
                examined, last = examined + 1, key
                entry = entries.get(key.event_id)
                if entry is not None and search.matches(entry):
                    found.append((key, entry))
                if len(found) > first:
                    page = found[:first]
                    return EventPage([e for _, e in page], True, encode_cursor(page[-1][0].sort))
                if examined >= self._max_examined:
                    return EventPage([e for _, e in found], True, encode_cursor(last.sort))
        if walk.stopped_before is not None:  # the day index was walked as far as one page goes
            return EventPage([e for _, e in found], True, encode_cursor(walk.stopped_before))
        end = encode_cursor(found[-1][0].sort) if found else None
        return EventPage([e for _, e in found], False, end)

    async def newest(self, search: EventFilter, *, limit: int) -> list[LedgerEntry]:
        """The newest ``limit`` matching entries (a timeline), read page by page."""
        entries: list[LedgerEntry] = []
        after: str | None = None
        while len(entries) < limit:
            page = await self.page(search, first=min(MAX_PAGE_SIZE, limit - len(entries)), after=after)
            entries.extend(page.entries)
            if not page.has_next_page:
                break
            after = page.end_cursor
        return entries

    def _keys(self, search: EventFilter, before: str | None, walk: _Walk) -> AsyncIterator[_Key]:
        after = _since_key(search.since) if search.since else None
        if search.xendit_id is not None:
            streams = [self._query(i, search.xendit_id, after, before) for i in BY_XENDIT]
            return _merge_newest_first(streams)
        for index, value in (
            (BY_INVOICE, search.invoice_id),
            (BY_CORRELATION, search.correlation_id),
            (BY_CUSTOMER, search.customer_id),
        ):
            if value is not None:
                return self._query(index, value, after, before)
        return self._by_day(after, before, walk)

    async def _by_day(self, after: str | None, before: str | None, walk: _Walk) -> AsyncIterator[_Key]:
        now = self._clock()
        since = after or time_key(now - timedelta(days=DEFAULT_LOOKBACK_DAYS))
        day = datetime.fromisoformat(before[:10]).replace(tzinfo=UTC) if before else now
        last_day = since[:10]
        for _ in range(MAX_DAYS_PER_PAGE):
            if day_key(day) < last_day:
                return
            async for key in self._query(BY_DAY, day_key(day), after, before):
                yield key
            day -= timedelta(days=1)
        if day_key(day) >= last_day:  # older days remain: the next page starts before this day ended
            walk.stopped_before = sort_key(day + timedelta(days=1) - _time_of_day(day), "")

    async def _query(
        self, index: LedgerIndex, value: str, after: str | None, before: str | None
    ) -> AsyncIterator[_Key]:
        """Keys of one index partition, newest first, strictly before ``before``, from ``after`` on."""
        names = {"#pk": index.partition}
        values: dict[str, Any] = {":pk": {"S": value}}
        condition = "#pk = :pk"
        if after is not None and before is not None:
            condition += " AND #sk BETWEEN :after AND :before"  # inclusive: ``before`` itself is dropped
            values.update({":after": {"S": after}, ":before": {"S": before}})
        elif before is not None:
            condition += " AND #sk < :before"
            values[":before"] = {"S": before}
        elif after is not None:
            condition += " AND #sk >= :after"
            values[":after"] = {"S": after}
        if after is not None or before is not None:
            names["#sk"] = index.sort  # DynamoDB refuses a name the expression does not use
        start: Any = None
        while True:
            request: Any = {
                "TableName": self._table,
                "IndexName": index.name,
                "KeyConditionExpression": condition,
                "ExpressionAttributeNames": names,
                "ExpressionAttributeValues": values,
                "ScanIndexForward": False,
                "Limit": _QUERY_LIMIT,
            }
            if start is not None:
                request["ExclusiveStartKey"] = start
            response = await self._db.query(**request)
            for item in response.get("Items", []):
                sort = str(item[index.sort]["S"])
                if sort != before:
                    yield _Key(sort, str(item["event_id"]["S"]))
            start = response.get("LastEvaluatedKey")
            if not start:
                return


def _indexable(search: EventFilter) -> bool:
    """False when an id is empty or longer than any indexed one (``ledger_index`` writes neither)."""
    ids = (search.customer_id, search.invoice_id, search.xendit_id, search.correlation_id)
    return all(value is None or 0 < len(value.encode()) <= MAX_KEY_BYTES for value in ids)


def _since_key(since: datetime) -> str:
    """``since`` as the time part of ``ix_sort``; any moment before 1970 is 1970 (no entry is older)."""
    try:
        return time_key(max(since, _EPOCH))
    except OverflowError:  # year 1 in a zone east of UTC: before 1970 all the same
        return time_key(_EPOCH)


def _filters_beyond_index(search: EventFilter) -> bool:
    """True when entries the index returns may still not match (so pages read more at once)."""
    keys = [search.xendit_id, search.invoice_id, search.correlation_id, search.customer_id]
    return sum(k is not None for k in keys) > 1 or search.status is not None or search.integration is not None


async def _merge_newest_first(streams: Iterable[AsyncIterator[_Key]]) -> AsyncIterator[_Key]:
    """Several newest-first key streams as one, each entry once."""
    heads: dict[int, tuple[_Key, AsyncIterator[_Key]]] = {}
    for number, stream in enumerate(streams):
        first = await anext(stream, None)
        if first is not None:
            heads[number] = (first, stream)
    seen: set[str] = set()
    while heads:
        number = max(heads, key=lambda n: heads[n][0].sort)
        key, stream = heads[number]
        if key.event_id not in seen:
            seen.add(key.event_id)
            yield key
        following = await anext(stream, None)
        if following is None:
            del heads[number]
        else:
            heads[number] = (following, stream)


async def _chunks(keys: AsyncIterator[_Key], size: int) -> AsyncIterator[list[_Key]]:
    chunk: list[_Key] = []
    async for key in keys:
        chunk.append(key)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


@dataclass
class IntegrationSummary:
    """Where one integration stands with a customer's or an invoice's events."""

    integration: str
    status: IntegrationStatus
    events: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    last_error: str | None = None
    last_error_event_id: str | None = None
    last_error_at: datetime | None = None
    updated_at: datetime | None = None


def summarize(entries: Iterable[LedgerEntry]) -> list[IntegrationSummary]:
    """Per integration: its most urgent status, how many events in each, the latest error."""
    summaries: dict[str, IntegrationSummary] = {}
    for entry in entries:
        for name, state in entry.integrations.items():
            summary = summaries.setdefault(name, IntegrationSummary(name, state.status))
            summary.events += 1
            summary.counts[state.status.value] = summary.counts.get(state.status.value, 0) + 1
            if URGENCY.index(state.status) < URGENCY.index(summary.status):
                summary.status = state.status
            moment = state.updated_at or entry.created_at
            if summary.updated_at is None or moment > summary.updated_at:
                summary.updated_at = moment
            if state.last_error and (summary.last_error_at is None or moment > summary.last_error_at):
                summary.last_error, summary.last_error_event_id = state.last_error, entry.event_id
                summary.last_error_at = moment
    order = [i.value for i in Integration]
    return sorted(
        summaries.values(), key=lambda s: order.index(s.integration) if s.integration in order else 99
    )
