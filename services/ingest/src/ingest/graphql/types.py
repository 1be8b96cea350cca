"""What the GraphQL API answers: events as the ledger holds them, pages of them, timelines, DLQ depths."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Final

import strawberry

from ingest.graphql._fields import field
from ingest.graphql.context import lookup_of
from ingest.graphql.errors import bad_request
from ingest.lookup import DeadLetterDepth
from lovia_billing.ledger import IntegrationStatus, LedgerEntry
from lovia_billing.ledger_search import (
    MAX_PAGE_SIZE,
    EventFilter,
    EventPage,
    IntegrationSummary,
    InvalidSearch,
    encode_cursor,
)
from lovia_billing.topology import Integration

DEFAULT_PAGE_SIZE: Final = 20
First = Annotated[int, strawberry.argument(description=f"Page size, 1 to {MAX_PAGE_SIZE}.")]
After = Annotated[str | None, strawberry.argument(description="`pageInfo.endCursor` of the page before.")]

# The shared enums, registered with strawberry as they are (it marks the class and returns it).
strawberry.enum(Integration, description="A downstream system with its own queue.")
strawberry.enum(
    IntegrationStatus,
    description=(
        "Where an event is in one integration: QUEUED (on its queue), NOT_QUEUED (recorded but not "
        "on its queue: send the request again), PROCESSING, DONE, RETRYING, DEAD (in its DLQ)."
    ),
)


@strawberry.type(description="One integration's status for one event.")
class IntegrationState:
    integration: Integration
    status: IntegrationStatus
    attempts: int
    last_error: str | None
    updated_at: datetime | None


@strawberry.type(description="One event as the ledger holds it, with its status in every integration.")
class Event:
    entry: strawberry.Private[LedgerEntry]

    @field("The event id (derived from the event's natural key).")
    def id(self) -> strawberry.ID:
        return strawberry.ID(self.entry.event_id)

    @field("The event type, e.g. `payment.succeeded`.")
    def type(self) -> str:
        return self.entry.event_type

    @strawberry.field
    def customer_id(self) -> str:
        return self.entry.customer_id

    @field("Our invoice the event is about, if any.")
    def invoice_id(self) -> str | None:
        return self.entry.invoice_id

    @field("Every Xendit id the event names (invoice, payment request, payment, refund…).")
    def xendit_ids(self) -> list[str]:
        return list(self.entry.xendit_ids)

    @field("The request id it came in with; follow-up events keep it.")
    def correlation_id(self) -> str | None:
        return self.entry.correlation_id

    @field("When the ledger first recorded it (UTC).")
    def created_at(self) -> datetime:
        return self.entry.created_at

    @field("The integrations it was routed to, in routing order.")
    def routed_to(self) -> list[Integration]:
        return [Integration(name) for name in self.entry.routed_to if name in _KNOWN]

    @field("Its status in each integration it was routed to.")
    def integrations(self) -> list[IntegrationState]:
        return [
            IntegrationState(
                integration=Integration(name),
                status=state.status,
                attempts=state.attempts,
                last_error=state.last_error,
                updated_at=state.updated_at,
            )
            for name, state in self.entry.integrations.items()
            if name in _KNOWN
        ]

    @field("The timeline of its invoice (null when the event is about none).")
    def invoice(self) -> Timeline | None:
        invoice_id = self.entry.invoice_id
        return None if invoice_id is None else Timeline.about_invoice(invoice_id)

    @field("The timeline of its customer.")
    def customer(self) -> Timeline:
        return Timeline.about_customer(self.entry.customer_id)

    @field("The event as queued: canonical JSON, amounts as exact decimal strings.")
    def body(self) -> str:
        return self.entry.body


_KNOWN = frozenset(i.value for i in Integration)


@strawberry.type
class EventEdge:
    cursor: str
    node: Event


@strawberry.type
class PageInfo:
    has_next_page: bool
    end_cursor: str | None


@strawberry.type(
    description="A page of events, newest first; pass `pageInfo.endCursor` as `after` for the next."
)
class EventConnection:
    edges: list[EventEdge]
    page_info: PageInfo

    @field("The events of `edges`, without their cursors.")
    def nodes(self) -> list[Event]:
        return [edge.node for edge in self.edges]

    @classmethod
    def of(cls, page: EventPage) -> EventConnection:
        edges = [EventEdge(cursor=encode_cursor(e.sort_key), node=Event(entry=e)) for e in page.entries]
        return cls(
            edges=edges, page_info=PageInfo(has_next_page=page.has_next_page, end_cursor=page.end_cursor)
        )


@strawberry.type
class StatusCount:
    status: IntegrationStatus
    events: int


@strawberry.type(
    name="IntegrationSummary",
    description="Where one integration stands with a customer's or an invoice's events.",
)
class IntegrationSummaryType:
    summary: strawberry.Private[IntegrationSummary]

    @strawberry.field
    def integration(self) -> Integration:
        return Integration(self.summary.integration)

    @field("The most urgent status among its events: DEAD, NOT_QUEUED, RETRYING… DONE.")
    def status(self) -> IntegrationStatus:
        return self.summary.status

    @field("How many of the events were routed to it.")
    def events(self) -> int:
        return self.summary.events

    @field("How many of them are in each status.")
    def counts(self) -> list[StatusCount]:
        return [
            StatusCount(status=IntegrationStatus(s), events=n) for s, n in sorted(self.summary.counts.items())
        ]

    @field("The latest error of any of its events still failing.")
    def last_error(self) -> str | None:
        return self.summary.last_error

    @strawberry.field
    def last_error_event_id(self) -> strawberry.ID | None:
        event_id = self.summary.last_error_event_id
        return strawberry.ID(event_id) if event_id else None

    @strawberry.field
    def updated_at(self) -> datetime | None:
        return self.summary.updated_at


@strawberry.type(name="DeadLetterQueue", description="How many messages one integration's DLQ holds.")
class DeadLetterQueueType:
    depth: strawberry.Private[DeadLetterDepth]

    @strawberry.field
    def integration(self) -> Integration:
        return self.depth.integration

    @field("Approximate number of messages (null when the queue could not be read).")
    def messages(self) -> int | None:
        return self.depth.messages

    @strawberry.field
    def error(self) -> str | None:
        return self.depth.error


async def page(
    info: strawberry.Info[Any, Any], search: EventFilter, first: int, after: str | None
) -> EventConnection:
    if search.since is not None and search.since.tzinfo is None:
        raise bad_request("`since` needs a time zone (`Z` or `+07:00`)")
    try:
        return EventConnection.of(await lookup_of(info).events(search, first=first, after=after))
    except InvalidSearch as exc:
        raise bad_request(str(exc)) from exc


@strawberry.type(
    description="Every event about one customer or one invoice, and where each integration stands."
)
class Timeline:
    subject: str = strawberry.field(description="`customer` or `invoice`.")
    id: str
    search: strawberry.Private[EventFilter]

    @classmethod
    def about_customer(cls, customer_id: str) -> Timeline:
        return cls(subject="customer", id=customer_id, search=EventFilter(customer_id=customer_id))

    @classmethod
    def about_invoice(cls, invoice_id: str) -> Timeline:
        return cls(subject="invoice", id=invoice_id, search=EventFilter(invoice_id=invoice_id))

    @field("Its events, newest first.")
    async def events(
        self,
        info: strawberry.Info[Any, Any],
        integration: Integration | None = None,
        status: IntegrationStatus | None = None,
        first: First = DEFAULT_PAGE_SIZE,
        after: After = None,
    ) -> EventConnection:
        search = EventFilter(
            customer_id=self.search.customer_id,
            invoice_id=self.search.invoice_id,
            integration=integration,
            status=status,
        )
        return await page(info, search, first, after)

    @field("Per integration: most urgent status, counts, latest error (newest 500 events).")
    async def integrations(self, info: strawberry.Info[Any, Any]) -> list[IntegrationSummaryType]:
        return [IntegrationSummaryType(summary=s) for s in await lookup_of(info).summary(self.search)]


def as_event(entry: LedgerEntry | None) -> Event | None:
    return None if entry is None else Event(entry=entry)


async def event_by_id(info: strawberry.Info[Any, Any], event_id: str) -> Event | None:
    return as_event(await lookup_of(info).event(event_id))
