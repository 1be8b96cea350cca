"""The GraphQL schema: find any payment, see where it is, act on it.

Queries read the ledger through its indexes (``ingest.lookup``); mutations are the ``/v1`` writes
(``ingest.writes``): the same validation, ``Idempotency-Key`` (``idempotencyKey``), event ids and
errors. Limits, checked before anything runs: query depth, document size (tokens), aliases, cost
(``ingest.graphql.cost``), and at most 100 events a page.
``docs/schema.graphql`` is this schema printed (``python -m ingest.graphql.export``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Final

import strawberry
from strawberry.extensions import (
    DisableIntrospection,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    QueryDepthLimiter,
)
from strawberry.schema.config import StrawberryConfig

from ingest import writes
from ingest.graphql._fields import field, mutation
from ingest.graphql.context import correlation_id_of, lookup_of, services_of
from ingest.graphql.cost import QueryCostLimiter
from ingest.graphql.errors import ApiError, ErrorCodes
from ingest.graphql.inputs import MONEY, CancellationInput, CustomerInput, InvoiceInput, Money, as_body
from ingest.graphql.types import (
    DEFAULT_PAGE_SIZE,
    After,
    DeadLetterQueueType,
    Event,
    EventConnection,
    First,
    Timeline,
    event_by_id,
    page,
)
from ingest.models.api import CustomerUpsert, InvoiceCreate, SubscriptionCancel
from lovia_billing.ledger import IntegrationStatus
from lovia_billing.ledger_search import EventFilter
from lovia_billing.topology import Integration

#: Deepest selection a document may have, counted from 0 at the top field (strawberry's count):
#: `event { invoice { events { edges { node { integrations { status } } } } } } }` is 6; deeper than
#: 7 is a timeline inside a timeline inside an event.
MAX_DEPTH: Final = 7
#: Largest document, in tokens (names, punctuation); a generous query is a few hundred.
MAX_TOKENS: Final = 2000
#: Aliases per document: each alias of a search field is one more search.
MAX_ALIASES: Final = 10
IdempotencyKey = Annotated[
    str | None,
    strawberry.argument(
        description=(
            "Retry-safe key (1-255 characters, kept 24 h), shared with the REST API's Idempotency-Key: "
            "the same key and input answer the same; other input is `validation_error`; while the "
            "first request with the key is being answered, `request_in_progress`."
        )
    ),
]


@strawberry.type
class Query:
    @field("One event by id, with its status in every integration; null if unknown.")
    async def event(self, info: strawberry.Info[Any, Any], id: strawberry.ID) -> Event | None:
        return await event_by_id(info, str(id))

    @field(
        "Events, newest first, that match every condition given. With a customer, invoice, Xendit or "
        "correlation id the ledger's index for it is read; with none, the last 30 days (or from "
        "`since`). A page that has read 1000 events ends early, with a cursor to go on from."
    )
    async def events(
        self,
        info: strawberry.Info[Any, Any],
        customer_id: str | None = None,
        invoice_id: str | None = None,
        xendit_id: Annotated[
            str | None,
            strawberry.argument(description="Any Xendit id: invoice, payment request, payment, refund…"),
        ] = None,
        correlation_id: str | None = None,
        status: Annotated[
            IntegrationStatus | None,
            strawberry.argument(description="In `integration` if given, else in any integration."),
        ] = None,
        integration: Annotated[
            Integration | None, strawberry.argument(description="Only events routed to it.")
        ] = None,
        since: datetime | None = None,
        first: First = DEFAULT_PAGE_SIZE,
        after: After = None,
    ) -> EventConnection:
        search = EventFilter(
            customer_id=customer_id,
            invoice_id=invoice_id,
            xendit_id=xendit_id,
            correlation_id=correlation_id,
            status=status,
            integration=integration,
            since=since,
        )
        return await page(info, search, first, after)

    @field("A customer's timeline: every event about them, and each integration's status.")
    def customer(self, id: str) -> Timeline:
        return Timeline.about_customer(id)

    @field("An invoice's timeline: requested, issued, paid, expired, refunded…")
    def invoice(self, id: str) -> Timeline:
        return Timeline.about_invoice(id)

    @field("How many messages each integration's dead-letter queue holds.")
    async def dead_letter_queues(self, info: strawberry.Info[Any, Any]) -> list[DeadLetterQueueType]:
        return [DeadLetterQueueType(depth=d) for d in await lookup_of(info).dead_letter_depths()]


@strawberry.type(description="The event is on its queues (or was already): follow it with `event`.")
class Accepted:
    event_id: strawberry.ID
    status_url: str = strawberry.field(description="Its REST status URL, `/v1/events/{id}`.")

    @field("The event's ledger entry now.")
    async def event(self, info: strawberry.Info[Any, Any]) -> Event | None:
        return await event_by_id(info, str(self.event_id))


async def _submit(
    info: strawberry.Info[Any, Any], write: writes.Write | writes.Answer, key: str | None
) -> Accepted:
    """A write through the one implementation REST uses; its error answers become ``ApiError``."""
    answer = (
        write
        if isinstance(write, writes.Answer)
        else await writes.submit(
            services_of(info),
            write,
            idempotency_key=key,
            correlation_id=correlation_id_of(info),
            scope=info.context["request"].scope,
        )
    )
    if not answer.accepted:
        raise ApiError.from_answer(answer)
    return Accepted(event_id=strawberry.ID(answer.body["event_id"]), status_url=answer.body["status_url"])


@strawberry.type
class Mutation:
    @mutation("`PUT /v1/customers/{id}`: queues `customer.upserted`.")
    async def upsert_customer(
        self,
        info: strawberry.Info[Any, Any],
        customer_id: str,
        customer: CustomerInput,
        idempotency_key: IdempotencyKey = None,
    ) -> Accepted | None:
        body = writes.parse_body(CustomerUpsert, as_body(customer))
        write = (
            body
            if isinstance(body, writes.Answer)
            else writes.upsert_customer(customer_id, body, idempotency_key)
        )
        return await _submit(info, write, idempotency_key)

    @mutation(
        "`POST /v1/invoices`: queues `invoice.requested`; the same invoiceId with other input is a conflict."
    )
    async def create_invoice(
        self, info: strawberry.Info[Any, Any], invoice: InvoiceInput, idempotency_key: IdempotencyKey = None
    ) -> Accepted | None:
        body = writes.parse_body(InvoiceCreate, as_body(invoice))
        write = body if isinstance(body, writes.Answer) else writes.request_invoice(body)
        return await _submit(info, write, idempotency_key)

    @mutation(
        "`POST /v1/subscriptions/{id}/cancel`: queues `subscription.cancelled` once; "
        "a repeat answers the first."
    )
    async def cancel_subscription(
        self,
        info: strawberry.Info[Any, Any],
        subscription_id: str,
        cancellation: CancellationInput,
        idempotency_key: IdempotencyKey = None,
    ) -> Accepted | None:
        body = writes.parse_body(SubscriptionCancel, as_body(cancellation))
        write = body if isinstance(body, writes.Answer) else writes.cancel_subscription(subscription_id, body)
        return await _submit(info, write, idempotency_key)


class _QuietSchema(strawberry.Schema):
    """Errors are coded, and the unexpected ones logged, by ``ErrorCodes``; not again with tracebacks."""

    def process_errors(self, errors: Any, execution_context: Any = None) -> None:  # noqa: ARG002 - the base's signature
        return None


def build_schema(*, introspection: bool = True) -> strawberry.Schema:
    # Factories, not instances: strawberry makes a fresh extension for each request.
    extensions: list[Any] = [
        ErrorCodes,
        lambda: QueryDepthLimiter(max_depth=MAX_DEPTH),
        lambda: MaxTokensLimiter(max_token_count=MAX_TOKENS),
        lambda: MaxAliasesLimiter(max_alias_count=MAX_ALIASES),
        QueryCostLimiter,
    ]
    if not introspection:
        extensions.append(DisableIntrospection)
    return _QuietSchema(
        query=Query,
        mutation=Mutation,
        extensions=extensions,
        config=StrawberryConfig(scalar_map={Money: MONEY}),
    )
