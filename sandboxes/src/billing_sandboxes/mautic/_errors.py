"""Mautic's error bodies: the listener/OAuth shape (with ``type``) and the controller shape (without).

Messages are Mautic 5's English translations (see the handbook's ``ref/mautic.md`` §1 and §5).
"""

from __future__ import annotations

import time
from typing import Any

from litestar import Response

API_DISABLED = "API disabled. You need to enable the API in the API settings of Mautic's Configuration."
BASIC_DISABLED = (
    "Basic Auth disabled. You need to enable HTTP basic auth in the API settings of Mautic's Configuration."
)
BASIC_DENIED = "Authorization denied, invalid credentials."
AUTH_DENIED = "API authorization denied."
TOKEN_INVALID = "The access token provided is invalid."  # noqa: S105 - a message, not a secret
TOKEN_EXPIRED = "The access token provided has expired."  # noqa: S105 - a message, not a secret
CLIENT_INVALID = "The client credentials are invalid"
GRANT_INVALID = "Invalid grant_type parameter or parameter missing"  # OAuth2 library text [assumed]
NOT_FOUND = "Item was not found."
CONTACT_NOT_FOUND = "Contact not found."
ACCESS_DENIED = "You do not have access to the requested area/action."
BAD_REQUEST = "This is a bad request."


def rate_limit_message(limit: int) -> str:
    return f"You exceeded the rate limit of {limit} API calls per hour."


def listener_error(status: int, message: str, error_type: str) -> Response[Any]:
    """Kernel listeners and OAuth (auth, API disabled): ``{"errors":[{message, code, type}]}``."""
    body = {"errors": [{"message": message, "code": status, "type": error_type}]}
    return Response(body, status_code=status)


def controller_body(status: int, message: str, details: dict[str, Any] | None = None) -> dict[str, Any]:
    """``returnError``: ``{"errors":[{code, message, details}]}``; ``type`` is null and so omitted."""
    return {"errors": [{"code": status, "message": message, "details": details or []}]}


def controller_error(status: int, message: str, details: dict[str, Any] | None = None) -> Response[Any]:
    return Response(controller_body(status, message, details), status_code=status)


def validation_error(violations: dict[str, list[str]]) -> Response[Any]:
    """A failed contact form: ``"<field>: <msg>, <field2>: <msg2>"`` with per-field details."""
    message = ", ".join(f"{field}: {msg}" for field, msgs in violations.items() for msg in msgs)
    return controller_error(400, message, dict(violations))


def injected_error_body(limit: int) -> Any:
    """The body ``FaultMiddleware`` answers for an injected status, as Mautic would send it."""

    def build(status: int) -> tuple[dict[str, Any], dict[str, str]]:
        if status == 429:
            return controller_body(429, rate_limit_message(limit)), {
                "X-RateLimit-Limit": str(limit),
                "X-RateLimit-Remaining": "0",
            }
        if status == 401:
            return {"errors": [{"message": AUTH_DENIED, "code": 401, "type": "access_denied"}]}, {}
        if status == 404:
            return controller_body(404, NOT_FOUND), {}
        if status == 403:
            return controller_body(403, ACCESS_DENIED), {}
        if status >= 500:
            # Mautic's production error handler answers JSON for /api requests [shape assumed].
            return controller_body(status, "Looks like I encountered an error (error code: 500)."), {}
        return controller_body(status, BAD_REQUEST), {}

    return build


def rate_limit_headers(seconds: int) -> dict[str, str]:
    """The reset header of Mautic's limiter (noxlogic/ratelimit-bundle): the Unix time the window ends,
    ``time() + period`` (``RateLimitInfo::getResetTimestamp``), and no ``Retry-After``."""
    return {"X-RateLimit-Reset": str(int(time.time()) + seconds)}
