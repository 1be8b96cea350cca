"""Xendit callbacks (``x-callback-token``): verified, validated and queued for xendit_sync.

A callback becomes a domain event only after xendit_sync has confirmed it with Xendit's API; here
it is only made safe to queue. The same callback, at any later time, gets the same ``event_id``.
Envelope callbacks are sorted by their event name, not by the route they came on: a payment
reported on any route reaches the same confirmation (docs/xendit.md, "Payment identity").
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

from litestar import Request, Router, post
from litestar.di import NamedDependency
from litestar.handlers import HTTPRouteHandler
from litestar.params import JSONBody

from ingest.deadline import progress_of
from ingest.errors import WRITE_ERRORS, error_responses
from ingest.models.api import WebhookAccepted
from ingest.models.xendit import EnvelopeCallback, FvaPaidCallback, InvoiceCallback, money_product
from ingest.request_log import note
from ingest.routes._accept import request_id
from ingest.security import require_callback_token
from ingest.services import Services
from lovia_billing import (
    DomainEvent,
    EventType,
    XenditCallback,
    XenditInvoiceExpired,
    XenditInvoicePaid,
    XenditProduct,
    derive_event_id,
)
from lovia_billing.ledger import LedgerConflict

_IDENTIFIER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:@\-]{0,127}$")


def _group_safe(value: str) -> str:
    """A usable message group id for a value we do not control."""
    return value if _IDENTIFIER.match(value) else "xendit-" + hashlib.sha256(value.encode()).hexdigest()[:32]


#: A callback is refused (nothing queued) for these; documented so Xendit-side tooling knows them.
REFUSED = error_responses(*WRITE_ERRORS, 503)

_ENVELOPE_ROUTES = {
    "payment": "Payments API v2 (payment.*, refund.*)",
    "recurring": "Recurring plan and cycle events",
    "ewallet": "E-wallet charges (ewallet.capture)",
    "refund": "Refunds (refund.succeeded, refund.failed)",
    "payment_method": "Payment methods v2 (acknowledged; nothing to book)",
}


@post("/invoice", status_code=200, summary="Invoice paid / settled / expired", responses=REFUSED)
async def invoice(
    request: Request[Any, Any, Any], services: NamedDependency[Services], data: JSONBody[InvoiceCallback]
) -> WebhookAccepted:
    """The flat invoice callback. Queued as ``xendit.invoice.paid`` or ``xendit.invoice.expired``."""
    event_class = XenditInvoiceExpired if data.status == "EXPIRED" else XenditInvoicePaid
    event = event_class.create(
        customer_id=await _customer_of_invoice(services, request, data.external_id),
        xendit_invoice_id=data.id,
        external_id=data.external_id,
        status=data.status,
        currency=data.currency,
        amount=data.amount,
        paid_amount=data.paid_amount,
        payment_method=data.payment_method,
        payment_channel=data.payment_channel,
        payment_id=data.payment_id,
        paid_at=data.paid_at,
    )
    return await _enqueue(services, request, event)


@post("/fva", status_code=200, summary="Fixed virtual account paid", responses=REFUSED)
async def fva(
    request: Request[Any, Any, Any], services: NamedDependency[Services], data: JSONBody[FvaPaidCallback]
) -> WebhookAccepted:
    """``fva_paid`` (flat, no status: receiving it means paid), keyed on Xendit's ``payment_id``."""
    event = XenditCallback.create(
        customer_id=await _customer_of_invoice(services, request, data.external_id),
        product=XenditProduct.FVA,
        event="fva.paid",
        object_id=data.payment_id,
        key=data.payment_id,
        payload=data.model_dump(mode="json"),
    )
    return await _enqueue(services, request, event)


def _envelope_route(route: str, summary: str) -> HTTPRouteHandler:
    """``POST /<route>``: one envelope callback route; its name (``route``) names its operation id."""

    async def accept(
        request: Request[Any, Any, Any],
        services: NamedDependency[Services],
        data: JSONBody[EnvelopeCallback],
    ) -> WebhookAccepted:
        return await _accept_envelope(services, request, data, route=route)

    accept.__name__ = accept.__qualname__ = route
    return post(f"/{route}", status_code=200, summary=summary, responses=REFUSED)(accept)


#: Every Xendit callback route, under ``x-callback-token``.
xendit_webhooks = Router(
    path="/webhooks/xendit",
    guards=[require_callback_token],
    tags=["xendit webhooks"],
    security=[{"XenditCallbackToken": []}],
    route_handlers=[
        invoice,
        fva,
        *(_envelope_route(route, summary) for route, summary in _ENVELOPE_ROUTES.items()),
    ],
)


async def _customer_of_invoice(services: Services, request: Request[Any, Any, Any], external_id: str) -> str:
    """Our customer id, from the ledger entry of the ``invoice.requested`` that made the invoice.

    Only the message group: xendit_sync takes the owner from Xendit's own copy. A ledger that does
    not answer is not "no such invoice": the callback is refused (503, Xendit sends it again), so
    that its body, and so its event, never depends on whether AWS answered this lookup.
    """
    if not external_id.strip():
        return _group_safe(external_id)  # no invoice of ours has an empty id
    progress_of(request.scope).step = "customer lookup"
    entry = await services.ledger.get(derive_event_id(EventType.INVOICE_REQUESTED.value, external_id))
    return entry.customer_id if entry is not None else _group_safe(external_id)


async def _accept_envelope(
    services: Services, request: Request[Any, Any, Any], data: EnvelopeCallback, *, route: str
) -> WebhookAccepted:
    """Queue an envelope callback that can move money; acknowledge and log any other (200, so
    Xendit does not retry it for a day)."""
    product = money_product(data)
    if product is None:
        event_id = derive_event_id("xendit.unrouted", data.natural_key())
        services.logger.info(
            "callback acknowledged, nothing to book",
            extra={
                "event_id": event_id,
                "xendit_event": data.event,
                "route": route,
                "request_id": request_id(request),
            },
        )
        return WebhookAccepted(event_id=event_id, status="ignored")
    event = XenditCallback.create(
        customer_id=_group_safe(data.customer_hint()),
        product=product,
        event=data.event,
        object_id=data.data.id,
        key=data.natural_key(),
        # `created` is when Xendit delivered this copy: kept out so every copy has one body.
        payload=data.model_dump(mode="json", exclude={"created"}),
    )
    return await _enqueue(services, request, event)


async def _enqueue(
    services: NamedDependency[Services], request: Request[Any, Any, Any], event: DomainEvent
) -> WebhookAccepted:
    correlation_id = request_id(request)
    note(request.scope, event_id=event.event_id)
    try:
        with progress_of(request.scope).publishing_event(event):
            await services.publisher.publish(event, correlation_id=correlation_id)
    except LedgerConflict:
        # Same natural key, other content. Queue it anyway: xendit_sync confirms every callback
        # with Xendit's API, so a bad first copy can never shadow the real one.
        services.logger.warning(
            "callback differs from an earlier one with the same key", extra={"event_id": event.event_id}
        )
        await services.publisher.publish(event, correlation_id=correlation_id, record=False)
    services.logger.info(
        "callback queued",
        extra={
            "event_id": event.event_id,
            "event_type": event.event_type.value,
            "request_id": correlation_id,
        },
    )
    return WebhookAccepted(event_id=event.event_id)
