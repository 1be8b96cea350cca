"""The REST side of a write: the request's id, and an ``Answer`` of ``ingest.writes`` as a response.

Validation, ``Idempotency-Key``, publishing and errors live in ``ingest.writes``, shared with the
GraphQL mutations; here is only what is particular to Litestar's requests and responses.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, Response
from pydantic import ValidationError

from ingest.writes import Answer, not_an_event


def request_id(request: Request[Any, Any, Any]) -> str:
    return str(request.scope.get("state", {}).get("request_id", "unknown"))


def to_response(answer: Answer) -> Response[Any]:
    return Response(answer.body, status_code=answer.status, headers=dict(answer.headers))


def validation_failed(exc: ValidationError) -> Response[Any]:
    """A pydantic error that reached the app's exception handler: the request is not a valid event."""
    return to_response(not_an_event(exc))
