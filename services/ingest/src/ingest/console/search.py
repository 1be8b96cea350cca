"""What the console shows for a search: an event, or the timeline of an invoice, a customer or a Xendit id.

``by=auto`` (the default) tries, in order, an event id, an invoice id, a Xendit id and a customer
id, and shows the first that has events: an operator pastes whatever id they were given.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final, Literal

from ingest.lookup import Lookup
from lovia_billing.ledger import LedgerEntry
from lovia_billing.ledger_search import EventFilter, EventPage, IntegrationSummary, InvalidSearch

By = Literal["auto", "event", "invoice", "xendit", "customer"]
KINDS: Final[tuple[By, ...]] = ("auto", "event", "invoice", "xendit", "customer")
PAGE_SIZE: Final = 50


@dataclass
class Found:
    """The answer to one search; ``by`` is what the query turned out to be (empty: nothing found)."""

    query: str
    by: str = ""
    event: LedgerEntry | None = None
    timeline_by: str = ""  # what the timeline is of: invoice, xendit or customer...
    timeline_id: str = ""  # ...and which one
    page: EventPage | None = None
    summary: list[IntegrationSummary] = field(default_factory=list)
    error: str | None = None


def _filter(by: str, query: str) -> EventFilter:
    if by == "invoice":
        return EventFilter(invoice_id=query)
    if by == "xendit":
        return EventFilter(xendit_id=query)
    return EventFilter(customer_id=query)


#: How the console names what a timeline is of.
LABELS: Final = {"invoice": "invoice", "xendit": "Xendit id", "customer": "customer"}


async def search(lookup: Lookup, query: str, by: By = "auto", after: str | None = None) -> Found:
    query = query.strip()
    found = Found(query)
    if not query:
        return found
    try:
        if by in ("auto", "event") and after is None:
            event = await lookup.event(query)
            if event is not None:
                return await _around_event(lookup, found, event)
        for kind in ("invoice", "xendit", "customer") if by == "auto" else (by,):
            if kind == "event":
                continue
            page = await lookup.events(_filter(kind, query), first=PAGE_SIZE, after=after)
            if page.entries or after is not None:
                found.by, found.page, found.timeline_by, found.timeline_id = kind, page, kind, query
                found.summary = await lookup.summary(_filter(kind, query))
                return found
    except InvalidSearch as exc:
        found.error = str(exc)
    return found


async def _around_event(lookup: Lookup, found: Found, event: LedgerEntry) -> Found:
    """An event, and the timeline it belongs to: its invoice's, else its customer's."""
    found.by, found.event = "event", event
    kind, subject = ("invoice", event.invoice_id) if event.invoice_id else ("customer", event.customer_id)
    found.timeline_by, found.timeline_id = kind, subject
    found.page = await lookup.events(_filter(kind, subject), first=PAGE_SIZE)
    found.summary = await lookup.summary(_filter(kind, subject))
    return found
