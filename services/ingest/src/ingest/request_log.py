"""One JSON log line for every refused request: route, status, error code and request id.

Refusals are answered in many places (guards, the body limit, validation, the content-type check,
the deadline, the accept path); they are logged in one, here, from the response itself, so each is
logged exactly once. Never a header or a byte of the body: only what the ingest itself said (the
error's code and message) and what a handler noted with ``note()`` (event id, failed queues).
500s are logged by ``errors.on_unexpected``, with the stack.
"""

from __future__ import annotations

import json
from typing import Any

from litestar.types import ASGIApp, Message, Receive, Send

from lovia_billing.logs import get_logger

_LOG_EXTRA = "log_extra"
#: Error bodies are a few hundred bytes; a longer one is not read for its code.
_MAX_ERROR_BODY = 16 * 1024


def note(scope: Any, **fields: Any) -> None:
    """Add ``fields`` to the line logged if this request is refused (no secrets, no body)."""
    scope.setdefault("state", {}).setdefault(_LOG_EXTRA, {}).update(fields)


def refusal_log_middleware(app: ASGIApp) -> ASGIApp:
    """Log each response of 400 and above (except 500) once, when its body has been sent."""
    logger = get_logger("ingest")

    async def middleware(scope: Any, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        status = 0
        body = b""

        async def watching_send(message: Message) -> None:
            nonlocal status, body
            if message["type"] == "http.response.start":
                status = int(message["status"])
            elif message["type"] == "http.response.body" and status >= 400 and len(body) < _MAX_ERROR_BODY:
                body += message.get("body", b"")
            await send(message)
            if message["type"] == "http.response.body" and not message.get("more_body") and status >= 400:
                _log_refusal(logger, scope, status, body)

        await app(scope, receive, watching_send)

    return middleware


def _log_refusal(logger: Any, scope: Any, status: int, body: bytes) -> None:
    if status == 500:
        return  # on_unexpected logged it with its stack
    error = _error_of(body)
    state = scope.get("state", {})
    fields = {
        "method": scope.get("method"),
        "route": scope.get("path_template") or scope.get("path"),
        "path": scope.get("path"),
        "status": status,
        "error_code": error.get("code"),
        "error_message": error.get("message"),
        "request_id": state.get("request_id"),
        **state.get(_LOG_EXTRA, {}),
    }
    (logger.error if status >= 500 else logger.warning)("request refused", extra=fields)


def _error_of(body: bytes) -> dict[str, Any]:
    try:
        decoded = json.loads(body)
    except ValueError:
        return {}
    error = decoded.get("error") if isinstance(decoded, dict) else None
    return error if isinstance(error, dict) else {}
