"""Queue an event and answer: the shared path of every write route of the ingest."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

from litestar import Request, Response
from pydantic import ValidationError

from ingest.errors import ErrorDetail, error_response
from ingest.idempotency_keys import MAX_KEY_LENGTH, StoredResponse
from ingest.models.api import Accepted
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
    request_print = fingerprint(request, data)
    if idempotency_key:
        stored = await services.keys.get(idempotency_key)
        if stored is not None:
            return _replay(stored, request_print)
    try:
        event = build_event()
    except ValidationError as exc:
        return validation_failed(exc)
    try:
        await services.publisher.publish(event, correlation_id=request_id(request))
    except LedgerConflict:
        return on_conflict(event)
    except PublishError as exc:
        services.logger.error(
            "publish failed", extra={"event_id": event.event_id, "queues": exc.failed_queues}
        )
        return error_response(503, "could not queue the event; retry the same request", None)
    body = Accepted(event_id=event.event_id, status_url=f"/v1/events/{event.event_id}").model_dump()
    services.logger.info(
        "accepted",
        extra={
            "event_id": event.event_id,
            "event_type": event.event_type.value,
            "request_id": request_id(request),
        },
    )
    if idempotency_key:
        stored = await services.keys.put(idempotency_key, StoredResponse(request_print, 202, body))
        return _replay(stored, request_print)
    return Response(body, status_code=202)


def _replay(stored: StoredResponse, request_print: str) -> Response[Any]:
    if stored.fingerprint != request_print:
        return error_response(422, "Idempotency-Key was already used with a different request")
    return Response(stored.body, status_code=stored.status_code)
