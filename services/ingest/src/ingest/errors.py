"""Every error the ingest answers is JSON that says what is wrong: ``{"error": {...}}``."""

from __future__ import annotations

from typing import Any

from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.openapi import ResponseSpec
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR
from pydantic import BaseModel, ConfigDict, Field

from ingest._request import MalformedJson
from ingest.request_log import note
from lovia_billing import PublishError
from lovia_billing.logs import get_logger


class ErrorDetail(BaseModel):
    field: str | None = Field(default=None, description="where the problem is, e.g. body.amount")
    message: str


class ErrorBody(BaseModel):
    status: int = Field(examples=[422])
    code: str = Field(description="stable machine-readable code", examples=["validation_error"])
    message: str = Field(examples=["the request body does not match the schema"])
    details: list[ErrorDetail] = Field(default_factory=list)


class ErrorResponse(BaseModel):
    """The body of every 4xx/5xx the ingest sends."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "error": {
                        "status": 422,
                        "code": "validation_error",
                        "message": "the request does not match the schema",
                        "details": [{"field": "body.amount", "message": "amount must be a plain decimal"}],
                    }
                }
            ]
        }
    )
    error: ErrorBody


CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "too_many_requests",
    503: "unavailable",
}
#: What a client is told to wait before retrying a 503 (``Retry-After``).
RETRY_AFTER_SECONDS = 5


DESCRIPTIONS = {
    400: "`malformed_json`: not JSON, not UTF-8, or nested deeper than 32 levels; nothing queued",
    401: "missing or wrong credentials; nothing queued",
    404: "not found",
    409: "`conflict`: the same id was accepted with another body; `request_in_progress`: a request "
    "with the same Idempotency-Key is being answered, retry after `Retry-After` seconds; nothing queued",
    413: "body larger than MAX_BODY_BYTES; nothing queued",
    415: "Content-Type is not application/json; nothing queued",
    422: "the body or a header does not match the schema; nothing queued",
    503: "`unavailable`: AWS (the queues or tables) refused or failed; `deadline_exceeded`: AWS did not "
    "answer within the ingest's deadline (10 s). Either way the event is not confirmed on every "
    "queue: retry the same request after `Retry-After` seconds",
}


def error_responses(*statuses: int) -> dict[int, ResponseSpec]:
    """OpenAPI entries for the errors a route answers, so clients and schema checks know them."""
    return {
        status: ResponseSpec(data_container=ErrorResponse, description=DESCRIPTIONS[status])
        for status in statuses
    }


#: What every JSON write can be refused with.
WRITE_ERRORS = (400, 401, 413, 415, 422)


def error_response(
    status: int,
    message: str,
    details: list[ErrorDetail] | None = None,
    *,
    code: str | None = None,
    headers: dict[str, str] | None = None,
) -> Response[Any]:
    body = ErrorResponse(
        error=ErrorBody(
            status=status, code=code or CODES.get(status, "error"), message=message, details=details or []
        )
    )
    return Response(
        body.model_dump(mode="json"), status_code=status, media_type=MediaType.JSON, headers=headers
    )


def _validation_details(extra: Any) -> list[ErrorDetail]:
    details: list[ErrorDetail] = []
    for item in extra if isinstance(extra, list) else []:
        if isinstance(item, dict):
            key = item.get("key")
            # Litestar names the source of path, query and header values; a key without one is a
            # field of the body as the pydantic model reported it.
            source = item.get("source") or ("body" if key else None)
            where = ".".join(str(p) for p in (source, key) if p)
            details.append(ErrorDetail(field=where or None, message=str(item.get("message", item))))
    return details


def unavailable(message: str, *, code: str | None = None) -> Response[Any]:
    """503 with ``Retry-After``: nothing is confirmed queued; the same request may be sent again."""
    return error_response(503, message, code=code, headers={"Retry-After": str(RETRY_AFTER_SECONDS)})


def on_http_exception(_request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    if isinstance(exc, MalformedJson):
        return error_response(400, str(exc.detail), code="malformed_json")
    if isinstance(exc, ValidationException):
        # Litestar reports a body that fails the model as 400; it is well-formed JSON that is
        # semantically wrong, which is 422.
        details = _validation_details(exc.extra)
        return error_response(422, "the request does not match the schema", details)
    return error_response(exc.status_code, str(exc.detail))


def on_aws_error(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """AWS refused or failed a call the request needed (a missing table, a timeout after every
    retry): the ingest cannot take the request now, which is 503, not an internal error."""
    note(request.scope, aws_error=f"{type(exc).__name__}: {exc}"[:500])
    return unavailable(f"AWS did not take the request ({type(exc).__name__}); nothing is confirmed queued")


def on_publish_error(request: Request[Any, Any, Any], exc: PublishError) -> Response[Any]:
    """A callback whose event did not reach every queue: 503, so Xendit sends it again."""
    note(request.scope, failed_queues=exc.failed_queues)
    return unavailable("could not queue the callback; send it again")


def on_unexpected(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    get_logger("ingest").exception(
        "unhandled error", extra={"path": request.url.path, "error_type": type(exc).__name__}
    )
    return error_response(HTTP_500_INTERNAL_SERVER_ERROR, "internal error; nothing was queued")
