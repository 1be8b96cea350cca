"""The internal ``/v1`` API (Bearer API key): customers, invoices, cancellations, event status.

The writes are ``ingest.writes``, which the GraphQL mutations share: this module only adapts them.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post, put
from litestar.di import NamedDependency
from litestar.params import FromPath, HeaderParameter, JSONBody

from ingest import writes
from ingest.errors import WRITE_ERRORS, error_response, error_responses
from ingest.models.api import (
    Accepted,
    CustomerUpsert,
    EventStatus,
    IntegrationStatusView,
    InvoiceCreate,
    SubscriptionCancel,
)
from ingest.routes._accept import request_id, to_response
from ingest.security import require_api_key
from ingest.services import Services

IdempotencyKey = Annotated[
    str | None,
    HeaderParameter(
        name="Idempotency-Key",
        required=False,
        description=(
            "retry-safe key (1-255 characters, kept 24 h): the same key and body answer the same; "
            "another body is 422; while the first request with the key is still being answered, "
            "409 `request_in_progress` with Retry-After"
        ),
    ),
]


class V1Controller(Controller):
    path = "/v1"
    guards = [require_api_key]
    tags = ["v1"]
    security = [{"BearerAuth": []}]

    @put(
        "/customers/{customer_id:str}",
        status_code=202,
        summary="Create or update a customer",
        responses=error_responses(*WRITE_ERRORS, 409, 503),
    )
    async def upsert_customer(
        self,
        request: Request[Any, Any, Any],
        services: NamedDependency[Services],
        customer_id: FromPath[str],
        data: JSONBody[CustomerUpsert],
        idempotency_key: IdempotencyKey = None,
    ) -> Response[Accepted]:
        """Queues ``customer.upserted`` for ERPNext, ChartMogul and Mautic."""
        write = writes.upsert_customer(customer_id, data, idempotency_key)
        return await _submit(services, request, write, idempotency_key)

    @post(
        "/invoices",
        status_code=202,
        summary="Request an invoice",
        responses=error_responses(*WRITE_ERRORS, 409, 503),
    )
    async def request_invoice(
        self,
        request: Request[Any, Any, Any],
        services: NamedDependency[Services],
        data: JSONBody[InvoiceCreate],
        idempotency_key: IdempotencyKey = None,
    ) -> Response[Accepted]:
        """Queues ``invoice.requested``; xendit_sync creates the Xendit invoice exactly once.

        The same ``invoice_id`` with the same body is the same request (202, same ``event_id``);
        with another body it is 409.
        """
        return await _submit(services, request, writes.request_invoice(data), idempotency_key)

    @post(
        "/subscriptions/{subscription_id:str}/cancel",
        status_code=202,
        summary="Cancel a subscription",
        responses=error_responses(*WRITE_ERRORS, 409, 503),
    )
    async def cancel_subscription(
        self,
        request: Request[Any, Any, Any],
        services: NamedDependency[Services],
        subscription_id: FromPath[str],
        data: JSONBody[SubscriptionCancel],
        idempotency_key: IdempotencyKey = None,
    ) -> Response[Accepted]:
        """Queues ``subscription.cancelled`` for xendit_sync, which expires the open invoices and then
        passes it on to ChartMogul, Mautic and ERPNext (so it reaches them behind those invoices).

        A subscription is cancelled once: a repeated cancel answers 202 with the first one's
        ``event_id`` and queues nothing new.
        """
        write = writes.cancel_subscription(subscription_id, data)
        return await _submit(services, request, write, idempotency_key)

    @get(
        "/events/{event_id:str}",
        summary="Status of one event in every integration",
        responses=error_responses(400, 401, 404),
    )
    async def event_status(
        self, services: NamedDependency[Services], event_id: FromPath[str]
    ) -> Response[EventStatus]:
        entry = await services.ledger.get(event_id)
        if entry is None:
            return error_response(404, f"no event {event_id}")
        status = EventStatus(
            event_id=entry.event_id,
            event_type=entry.event_type,
            customer_id=entry.customer_id,
            created_at=entry.created_at,
            integrations={
                name: IntegrationStatusView(**state.model_dump())
                for name, state in entry.integrations.items()
            },
            event=json.loads(entry.body),
        )
        return Response(status)


async def _submit(
    services: Services, request: Request[Any, Any, Any], write: writes.Write, idempotency_key: str | None
) -> Response[Any]:
    answer = await writes.submit(
        services,
        write,
        idempotency_key=idempotency_key,
        correlation_id=request_id(request),
        scope=request.scope,
    )
    return to_response(answer)
