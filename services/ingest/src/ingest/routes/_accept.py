"""Queue an event and answer: the shared path of every write route of the ingest.

Order matters, so that a refused request touches nothing: the body is validated into its event
first (422 reserves no key and queues nothing), then the ``Idempotency-Key`` is reserved (another
request under the key: 422 or 409, nothing queued), and only then is the event recorded and sent.
Each step that AWS has not confirmed yet is noted in the request's ``Progress``, so that a request
cut off by the answer deadline (``ingest.deadline``) is undone, not left half-written.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Callable
from typing import Any

from botocore.exceptions import BotoCoreError
from litestar import Request, Response
from pydantic import ValidationError

from ingest.deadline import Progress, progress_of
from ingest.errors import ErrorDetail, error_response, unavailable
from ingest.idempotency_keys import (
    MAX_KEY_LENGTH,
    Completed,
    InProgress,
    Mismatch,
    Reserved,
    StoredResponse,
    new_token,
)
from ingest.models.api import Accepted
from ingest.request_log import note
from ingest.services import Services
from lovia_billing import DomainEvent, PublishError, canonical_json
from lovia_billing.ledger import LedgerConflict


def request_id(request: Request[Any, Any, Any]) -> str:
    return str(request.scope.get("state", {}).get("request_id", "unknown"))


def fingerprint(request: Request[Any, Any, Any], data: Any) -> str:
    payload = canonical_json({"method": request.method, "path": request.url.path, "body": data})
    return hashlib.sha256(payload.encode()).hexdigest()


def validation_failed(exc: ValidationError) -> Response[Any]:
    details = [
        ErrorDetail(field=".".join(str(p) for p in ("body", *err["loc"])), message=err["msg"])
        for err in exc.errors()
    ]
    return error_response(422, "the request is not a valid event", details)


async def accept(
    services: Services,
    request: Request[Any, Any, Any],
    *,
    data: Any,
    idempotency_key: str | None,
    build_event: Callable[[], DomainEvent],
    on_conflict: Callable[[DomainEvent], Response[Any]],
) -> Response[Any]:
    """Validate, publish, answer 202 — honouring ``Idempotency-Key`` and natural-key conflicts."""
    if idempotency_key is not None and not 0 < len(idempotency_key) <= MAX_KEY_LENGTH:
        return error_response(400, f"Idempotency-Key must be 1 to {MAX_KEY_LENGTH} characters")
    try:
        event = build_event()
    except ValidationError as exc:
        return validation_failed(exc)
    if not idempotency_key:
        return await _publish(services, request, event, on_conflict)
    request_print = fingerprint(request, data)
    progress = progress_of(request.scope)
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
            return error_response(422, "Idempotency-Key was already used with a different request")
        case Completed(response=stored):
            return Response(stored.body, status_code=stored.status_code)
        case InProgress(retry_after=seconds):
            return error_response(
                409,
                "a request with this Idempotency-Key is still being answered; retry it shortly",
                code="request_in_progress",
                headers={"Retry-After": str(seconds)},
            )
        case Reserved():
            return await _publish_reserved(
                services,
                request,
                event,
                on_conflict,
                progress=progress,
                request_print=request_print,
            )


async def _publish_reserved(
    services: Services,
    request: Request[Any, Any, Any],
    event: DomainEvent,
    on_conflict: Callable[[DomainEvent], Response[Any]],
    *,
    progress: Progress,
    request_print: str,
) -> Response[Any]:
    """Publish under our reservation: store a final answer, give the key back on a failure.

    The deadline's cancellation is not caught here: the reservation stays in ``progress`` and the
    deadline's clean-up releases it (awaiting AWS here would hold the answer past the deadline).
    """
    assert progress.reservation is not None
    key, token = progress.reservation
    try:
        response = await _publish(services, request, event, on_conflict)
    except Exception:
        await _release_quietly(services, progress)
        raise
    status = response.status_code
    if status is None or status >= 500:  # nothing (or not everything) queued: the client must retry
        await _release_quietly(services, progress)
        return response
    progress.step = "storing the Idempotency-Key answer"
    try:
        # The event is queued: the answer stands even if storing it has to be cut short.
        async with asyncio.timeout_at(progress.before_deadline()):
            await services.keys.complete(key, token, StoredResponse(request_print, status, response.content))
    except Exception as exc:
        # The reservation lapses after its lease; a retry of this same request then publishes the
        # same event again, which changes nothing.
        services.logger.warning(
            "could not store the Idempotency-Key answer",
            extra={"event_id": event.event_id, "error": f"{type(exc).__name__}: {exc}"},
        )
    progress.reservation = None
    return response


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
    services: Services,
    request: Request[Any, Any, Any],
    event: DomainEvent,
    on_conflict: Callable[[DomainEvent], Response[Any]],
) -> Response[Any]:
    try:
        with progress_of(request.scope).publishing_event(event):
            await services.publisher.publish(event, correlation_id=request_id(request))
    except LedgerConflict:
        note(request.scope, event_id=event.event_id)
        return on_conflict(event)
    except PublishError as exc:
        note(request.scope, event_id=event.event_id, failed_queues=exc.failed_queues)
        return unavailable("could not queue the event; send the same request again")
    services.logger.info(
        "accepted",
        extra={
            "event_id": event.event_id,
            "event_type": event.event_type.value,
            "request_id": request_id(request),
        },
    )
    body = Accepted(event_id=event.event_id, status_url=f"/v1/events/{event.event_id}").model_dump()
    return Response(body, status_code=202)
