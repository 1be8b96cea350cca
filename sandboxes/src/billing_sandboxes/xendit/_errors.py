"""Xendit's error answers: ``{"error_code": ..., "message": ...}`` with the documented status codes."""

from __future__ import annotations

from typing import Any

#: The body Xendit sends for a status when the sandbox injects it (fault middleware) or raises it.
RATE_LIMIT_MESSAGE = "Too many requests. Please retry after the rate limit window."
_SERVER_ERROR = (
    "SERVER_ERROR",
    "An unexpected error occurred. Our team has been notified and will troubleshoot the issue.",
)
_DEFAULTS: dict[int, tuple[str, str]] = {
    400: ("API_VALIDATION_ERROR", "Invalid request"),
    401: ("INVALID_API_KEY", "API key format is invalid."),
    403: ("REQUEST_FORBIDDEN_ERROR", "The request is forbidden."),
    404: ("DATA_NOT_FOUND", "Could not find the requested resource."),
    409: ("DUPLICATE_ERROR", "The request conflicts with the resource's state."),
    429: ("RATE_LIMIT_EXCEEDED", RATE_LIMIT_MESSAGE),
    500: _SERVER_ERROR,
    502: _SERVER_ERROR,
    503: _SERVER_ERROR,
    504: _SERVER_ERROR,
}


class XenditApiError(Exception):
    """Raised by a route; the app turns it into Xendit's error body."""

    def __init__(
        self, status: int, error_code: str, message: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(f"{status} {error_code}: {message}")
        self.status = status
        self.error_code = error_code
        self.message = message
        self.headers = headers or {}

    def body(self) -> dict[str, str]:
        return {"error_code": self.error_code, "message": self.message}


def validation_error(message: str) -> XenditApiError:
    return XenditApiError(400, "API_VALIDATION_ERROR", message)


def invoice_not_found(invoice_id: str) -> XenditApiError:
    return XenditApiError(404, "INVOICE_NOT_FOUND_ERROR", f"Invoice {invoice_id} not found")


def not_found(what: str, object_id: str, code: str = "DATA_NOT_FOUND") -> XenditApiError:
    """404 for an unknown id; Xendit's newer APIs say ``DATA_NOT_FOUND``, older ones their own code."""
    return XenditApiError(404, code, f"{what} {object_id} not found. Please check your query again.")


def conflict(code: str, message: str) -> XenditApiError:
    return XenditApiError(409, code, message)


def error_body(status: int) -> tuple[dict[str, Any], dict[str, str]]:
    """Xendit's body for ``status`` (the fault middleware's ``error_body`` factory)."""
    fallback = _SERVER_ERROR if status >= 500 else ("API_VALIDATION_ERROR", "Invalid request")
    code, message = _DEFAULTS.get(status, fallback)
    return {"error_code": code, "message": message}, {}
