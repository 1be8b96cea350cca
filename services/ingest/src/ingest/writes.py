"""The ``/v1`` writes, one implementation behind both doors: the REST routes and the GraphQL mutations.

A write is described once (``Write``: its REST resource, its validated body, how to build its event,
what a reused natural key means) and answered once (``submit``): the same validation, the same
``Idempotency-Key`` reservation and fingerprint, the same event id, the same errors, whichever door
it came in by. The answer is transport-neutral (``Answer``: the REST status and JSON body); REST
sends it as it is, GraphQL turns it into a payload or an error with the same code.

Order matters, so that a refused request touches nothing: the body is validated into its event
first (422 reserves no key and queues nothing), then the ``Idempotency-Key`` is reserved (another
request under the key: 422 or 409, nothing queued), and only then is the event recorded and sent.
A key's fingerprint is the REST method, path and body, so a retry may even change doors.
Each step that AWS has not confirmed yet is noted in the request's ``Progress``, so that a request
cut off by the answer deadline (``ingest.deadline``) is undone, not left half-written.
"""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from botocore.exceptions import BotoCoreError
from pydantic import BaseModel, ValidationError

from ingest.deadline import Progress, progress_of
from ingest.errors import CODES, RETRY_AFTER_SECONDS, ErrorBody, ErrorDetail, ErrorResponse
from ingest.idempotency_keys import (
    MAX_KEY_LENGTH,
    Completed,
    InProgress,
    Mismatch,
    Reserved,
    StoredResponse,
    new_token,
)
from ingest.models.api import Accepted, CustomerUpsert, InvoiceCreate, SubscriptionCancel
from ingest.request_log import note
from ingest.services import Services
from lovia_billing import (
    CustomerUpserted,
    DomainEvent,
    InvoiceRequested,
    PublishError,
    SubscriptionCancelled,
    canonical_json,
)
from lovia_billing.ledger import LedgerConflict

Body = TypeVar("Body", bound=BaseModel)


@dataclass(frozen=True)
class Answer:
    """What a write answers: the REST status, JSON body and headers (GraphQL maps them)."""

    status: int
    body: dict[str, Any]
    headers: Mapping[str, str] = field(default_factory=dict)

    @property
    def accepted(self) -> bool:
        return self.status < 400


@dataclass(frozen=True)
class Write:
    """One write request, as REST names it (method and path are part of the key's fingerprint)."""

    method: str
    path: str
    body: dict[str, Any]  # the validated body as JSON
    build_event: Callable[[], DomainEvent]
    #: A natural key already accepted with another body: the first answer again (a cancellation
    #: happens once) or 409 (an invoice id names one invoice forever).
    repeat_answers_first: bool = False


def error(
    status: int,
    message: str,
    details: list[ErrorDetail] | None = None,
    *,
    code: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> Answer:
    """An error answer, with the body every error of the ingest has (``ingest.errors``)."""
    body = ErrorResponse(
        error=ErrorBody(
            status=status, code=code or CODES.get(status, "error"), message=message, details=details or []
        )
    )
    return Answer(status, body.model_dump(mode="json"), headers or {})


def schema_mismatch(exc: ValidationError) -> Answer:
    """A body that does not match its model, reported as Litestar reports it for the REST routes."""
    details = [
        ErrorDetail(field=".".join(str(p) for p in ("body", *err["loc"])), message=err["msg"])
        for err in exc.errors()
    ]
    return error(422, "the request does not match the schema", details)


def not_an_event(exc: ValidationError) -> Answer:
    """A body that matches its model but does not make a valid event."""
    details = [
        ErrorDetail(field=".".join(str(p) for p in ("body", *err["loc"])), message=err["msg"])
        for err in exc.errors()
    ]
    return error(422, "the request is not a valid event", details)


def parse_body(model: type[Body], data: Mapping[str, Any]) -> Body | Answer:
    """Validate a body that did not come through Litestar (GraphQL): the model, or its 422."""
    try:
        return model.model_validate(dict(data))
    except ValidationError as exc:
        return schema_mismatch(exc)


def upsert_customer(customer_id: str, body: CustomerUpsert, idempotency_key: str | None) -> Write:
    """``customer.upserted``; without a key each request is its own event."""
    request_key = idempotency_key or f"auto-{uuid.uuid4()}"
    return Write(
        method="PUT",
        path=f"/v1/customers/{customer_id}",
        body=body.model_dump(mode="json"),
        build_event=lambda: CustomerUpserted.create(
            customer_id=customer_id, request_key=request_key, **body.model_dump()
        ),
    )


def request_invoice(body: InvoiceCreate) -> Write:
    """``invoice.requested``: the same ``invoice_id`` with another body is 409."""
    return Write(
        method="POST",
        path="/v1/invoices",
        body=body.model_dump(mode="json"),
        build_event=lambda: InvoiceRequested.create(**body.model_dump()),
    )


def cancel_subscription(subscription_id: str, body: SubscriptionCancel) -> Write:
    """``subscription.cancelled``: a subscription is cancelled once; a repeat answers the first."""
    return Write(
        method="POST",
        path=f"/v1/subscriptions/{subscription_id}/cancel",
        body=body.model_dump(mode="json"),
        build_event=lambda: SubscriptionCancelled.create(
            subscription_id=subscription_id, **body.model_dump()
        ),
        repeat_answers_first=True,
    )


def fingerprint(write: Write) -> str:
    payload = canonical_json({"method": write.method, "path": write.path, "body": write.body})
    return hashlib.sha256(payload.encode()).hexdigest()


def accepted(event: DomainEvent) -> Answer:
    body = Accepted(event_id=event.event_id, status_url=f"/v1/events/{event.event_id}").model_dump()
    return Answer(202, body)


async def submit(
    services: Services, write: Write, *, idempotency_key: str | None, correlation_id: str, scope: Any
) -> Answer:
    """Validate, publish, answer 202 — honouring ``Idempotency-Key`` and natural-key conflicts.

    ``scope`` is the request's ASGI scope: where its ``Progress`` (for the deadline) and the notes
    of its refusal log line are kept.
    """
    if idempotency_key is not None and not 0 < len(idempotency_key) <= MAX_KEY_LENGTH:
        return error(400, f"Idempotency-Key must be 1 to {MAX_KEY_LENGTH} characters")
    try:
        event = write.build_event()
    except ValidationError as exc:
        return not_an_event(exc)
    progress = progress_of(scope)
    if not idempotency_key:
        return await _publish(services, write, event, correlation_id, scope)
    request_print = fingerprint(write)
    progress.step = "Idempotency-Key reservation"
    token = new_token()
    # Known before the write: if the deadline cuts the write off, its clean-up can still release it.
    progress.reservation = (idempotency_key, token)
    try:
        reservation = await services.keys.reserve(idempotency_key, request_print, token=token)
    except BotoCoreError:
        raise  # no answer: the reservation may land late, and the clean-up releases it then
    except Exception:
        progress.reservation = None
        raise
    if not isinstance(reservation, Reserved):
        progress.reservation = None
    match reservation:
        case Mismatch():
            return error(422, "Idempotency-Key was already used with a different request")
        case Completed(response=stored):
            return Answer(stored.status_code, stored.body)
        case InProgress(retry_after=seconds):
            return error(
                409,
                "a request with this Idempotency-Key is still being answered; retry it shortly",
                code="request_in_progress",
                headers={"Retry-After": str(seconds)},
            )
        case Reserved():
            return await _publish_reserved(
                services, write, event, correlation_id, scope, progress=progress, request_print=request_print
            )


async def _publish_reserved(
    services: Services,
    write: Write,
    event: DomainEvent,
    correlation_id: str,
    scope: Any,
    *,
    progress: Progress,
    request_print: str,
) -> Answer:
    """Publish under our reservation: store a final answer, give the key back on a failure.

    The deadline's cancellation is not caught here: the reservation stays in ``progress`` and the
    deadline's clean-up releases it (awaiting AWS here would hold the answer past the deadline).
    """
    assert progress.reservation is not None
    key, token = progress.reservation
    try:
        answer = await _publish(services, write, event, correlation_id, scope)
    except Exception:
        await _release_quietly(services, progress)
        raise
    if answer.status >= 500:  # nothing (or not everything) queued: the client must retry
        await _release_quietly(services, progress)
        return answer
    progress.step = "storing the Idempotency-Key answer"
    try:
        # The event is queued: the answer stands even if storing it has to be cut short.
        async with asyncio.timeout_at(progress.before_deadline()):
            await services.keys.complete(
                key, token, StoredResponse(request_print, answer.status, answer.body)
            )
    except Exception as exc:
        # The reservation lapses after its lease; a retry of this same request then publishes the
        # same event again, which changes nothing.
        services.logger.warning(
            "could not store the Idempotency-Key answer",
            extra={"event_id": event.event_id, "error": f"{type(exc).__name__}: {exc}"},
        )
    progress.reservation = None
    return answer


async def _release_quietly(services: Services, progress: Progress) -> None:
    if progress.reservation is None:
        return
    try:
        await services.keys.release(*progress.reservation)
        progress.reservation = None
    except Exception as exc:
        # The reservation lapses after its lease; the same request may then be sent again.
        services.logger.warning(
            "could not release an Idempotency-Key", extra={"error": f"{type(exc).__name__}: {exc}"}
        )


async def _publish(
    services: Services, write: Write, event: DomainEvent, correlation_id: str, scope: Any
) -> Answer:
    try:
        with progress_of(scope).publishing_event(event):
            await services.publisher.publish(event, correlation_id=correlation_id)
        note(scope, event_id=event.event_id)
    except LedgerConflict:
        note(scope, event_id=event.event_id)
        if write.repeat_answers_first:
            return accepted(event)
        return error(
            409, f"{event.event_type.value} {event.event_id} was already accepted with a different body"
        )
    except PublishError as exc:
        note(scope, event_id=event.event_id, failed_queues=exc.failed_queues)
        return error(
            503,
            "could not queue the event; send the same request again",
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        )
    services.logger.info(
        "accepted",
        extra={
            "event_id": event.event_id,
            "event_type": event.event_type.value,
            "request_id": correlation_id,
        },
    )
    return accepted(event)
