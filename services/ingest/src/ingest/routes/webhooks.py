"""Xendit callbacks (``x-callback-token``): verified, validated and queued for xendit_sync.

A callback becomes a domain event only after xendit_sync has confirmed it with Xendit's API; here
it is only made safe to queue. The same callback, at any later time, gets the same ``event_id``.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

from litestar import Controller, Request, post
from litestar.di import NamedDependency
from litestar.params import JSONBody

from ingest.errors import WRITE_ERRORS, error_responses
from ingest.models.api import WebhookAccepted
from ingest.models.xendit import EnvelopeCallback, FvaPaidCallback, InvoiceCallback
from ingest.routes._accept import request_id
from ingest.security import require_callback_token
from ingest.services import Services
from lovia_billing import (
    DomainEvent,
    EventType,
    XenditFvaPaid,
    XenditInvoiceExpired,
    XenditInvoicePaid,
    XenditPayment,
    XenditRecurringCycle,
    derive_event_id,
)
from lovia_billing.ledger import LedgerConflict

_IDENTIFIER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:@\-]{0,127}$")


def _group_safe(value: str) -> str:
    """A usable message group id for a value we do not control."""
    return value if _IDENTIFIER.match(value) else "xendit-" + hashlib.sha256(value.encode()).hexdigest()[:32]


#: A callback is refused (nothing queued) for these; documented so Xendit-side tooling knows them.
REFUSED = error_responses(*WRITE_ERRORS)


class XenditWebhooks(Controller):
    path = "/webhooks/xendit"
    guards = [require_callback_token]
    tags = ["xendit webhooks"]
    security = [{"XenditCallbackToken": []}]

    @post("/invoice", status_code=200, summary="Invoice paid / settled / expired", responses=REFUSED)
    async def invoice(
        self,
        request: Request[Any, Any, Any],
        services: NamedDependency[Services],
        data: JSONBody[InvoiceCallback],
    ) -> WebhookAccepted:
        """The flat invoice callback. Queued as ``xendit.invoice.paid`` or ``xendit.invoice.expired``."""
        event_class = XenditInvoiceExpired if data.status == "EXPIRED" else XenditInvoicePaid
        event = event_class.create(
            customer_id=await _customer_of_invoice(services, data.external_id),
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

    @post("/recurring", status_code=200, summary="Recurring plan and cycle events", responses=REFUSED)
    async def recurring(
        self,
        request: Request[Any, Any, Any],
        services: NamedDependency[Services],
        data: JSONBody[EnvelopeCallback],
    ) -> WebhookAccepted:
        return await _enqueue_envelope(services, request, data, XenditRecurringCycle)

    @post(
        "/payment",
        status_code=200,
        summary="Payment requests / payment methods v2 events",
        responses=REFUSED,
    )
    async def payment(
        self,
        request: Request[Any, Any, Any],
        services: NamedDependency[Services],
        data: JSONBody[EnvelopeCallback],
    ) -> WebhookAccepted:
        return await _enqueue_envelope(services, request, data, XenditPayment)

    @post("/fva", status_code=200, summary="Fixed virtual account paid", responses=REFUSED)
    async def fva(
        self,
        request: Request[Any, Any, Any],
        services: NamedDependency[Services],
        data: JSONBody[FvaPaidCallback],
    ) -> WebhookAccepted:
        event = XenditFvaPaid.create(
            customer_id=_group_safe(data.external_id),
            key=data.payment_id,
            event="fva.paid",
            payload=data.model_dump(mode="json"),
        )
        return await _enqueue(services, request, event)


async def _customer_of_invoice(services: Services, external_id: str) -> str:
    """Our customer id, from the ledger entry of the ``invoice.requested`` that made the invoice."""
    try:
        entry = await services.ledger.get(derive_event_id(EventType.INVOICE_REQUESTED.value, external_id))
    except Exception:
        entry = None
    return entry.customer_id if entry is not None else _group_safe(external_id)


async def _enqueue_envelope(
    services: Services,
    request: Request[Any, Any, Any],
    data: JSONBody[EnvelopeCallback],
    event_class: type[XenditRecurringCycle] | type[XenditPayment],
) -> WebhookAccepted:
    event = event_class.create(
        customer_id=_group_safe(data.customer_hint()),
        key=data.natural_key(),
        event=data.event,
        # `created` is when Xendit delivered this copy: kept out so every copy has one body.
        payload=data.model_dump(mode="json", exclude={"created"}),
    )
    return await _enqueue(services, request, event)


async def _enqueue(
    services: NamedDependency[Services], request: Request[Any, Any, Any], event: DomainEvent
) -> WebhookAccepted:
    correlation_id = request_id(request)
    try:
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
