"""Frappe's exceptions and its v1 JSON error envelope, as the ERPNext sandbox raises and renders them.

Shapes follow ref/erpnext.md §4: ``exc_type`` always; ``exception`` and ``exc`` (traceback allowed,
the default) except on 404; ``_server_messages`` double-encoded; ``_error_message`` for permissions.
"""

from __future__ import annotations

import json
import secrets
from typing import Any

#: HTTP status of each Frappe exception class the sandbox raises (F15 ``frappe/exceptions.py``).
STATUS: dict[str, int] = {
    "InvalidAuthorizationToken": 400,
    "AuthenticationError": 401,
    "PermissionError": 403,
    "DoesNotExistError": 404,
    "DuplicateEntryError": 409,
    "ValidationError": 417,
    "MandatoryError": 417,
    "LinkValidationError": 417,
    "LinkExistsError": 417,
    "StockOverReturnError": 417,  # erpnext.controllers.sales_and_purchase_return, a ValidationError
    "UniqueValidationError": 417,
    "TimestampMismatchError": 417,
    "UpdateAfterSubmitError": 417,
    "DocstatusTransitionError": 417,
    "TooManyRequestsError": 429,
    "QueryDeadlockError": 500,
    "OperationalError": 500,
    "SessionStopped": 503,
}


def throw_message(message: str, *, title: str = "Message") -> dict[str, Any]:
    """What ``frappe.throw`` adds to ``_server_messages``."""
    return {
        "message": message,
        "title": title,
        "indicator": "red",
        "raise_exception": 1,
        "__frappe_exc_id": secrets.token_hex(16),
    }


def plain_message(message: str, *, title: str = "Message", **extra: Any) -> dict[str, Any]:
    """What a plain ``frappe.msgprint`` adds (alerts, unique-field messages)."""
    return {"message": message, "title": title, **extra}


class FrappeError(Exception):
    """An exception as Frappe would raise it; ``envelope()`` is the JSON body it answers with."""

    def __init__(
        self,
        exc_type: str,
        message: str | None = None,
        *,
        exception_text: str | None = None,
        messages: list[dict[str, Any]] | None = None,
        error_message: str | None = None,
        module: str = "frappe.exceptions",
    ) -> None:
        super().__init__(message or exc_type)
        self.exc_type = exc_type
        self.status = STATUS.get(exc_type, 500)
        self.exception_text = exception_text if exception_text is not None else (message or "")
        if messages is not None:
            self.messages = messages
        else:
            self.messages = [throw_message(message)] if message else []
        self.error_message = error_message
        self.module = module

    def envelope(self) -> dict[str, Any]:
        body: dict[str, Any] = {"exc_type": self.exc_type}
        if self.status != 404:  # Frappe suppresses the traceback on 404
            last_line = f"{self.module}.{self.exc_type}: {self.exception_text}".rstrip(": ")
            body["exception"] = last_line
            body["exc"] = json.dumps(
                [f'Traceback (most recent call last):\n  File "apps/frappe/frappe/app.py"\n{last_line}\n']
            )
        if self.messages:
            body["_server_messages"] = encode_messages(self.messages)
        if self.error_message:
            body["_error_message"] = self.error_message
        return body


def encode_messages(messages: list[dict[str, Any]]) -> str:
    """Frappe's double encoding: a JSON string of a list of JSON strings."""
    return json.dumps([json.dumps(message) for message in messages])


def not_found(doctype: str, name: str) -> FrappeError:
    return FrappeError("DoesNotExistError", f"{doctype} {name} not found")


def validation(message: str, exc_type: str = "ValidationError") -> FrappeError:
    return FrappeError(exc_type, message)


_PROXY_TITLES = {502: "502 Bad Gateway", 504: "504 Gateway Time-out"}


def fault_body(status: int) -> tuple[dict[str, Any] | list[Any] | str, dict[str, str]]:
    """The body ERPNext (or nginx in front of it) answers for an injected status."""
    if status in (502, 504):
        title = _PROXY_TITLES[status]
        html = (
            f"<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n"
            f"<center><h1>{title}</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
        )
        return html, {}
    if status == 429:
        return FrappeError("TooManyRequestsError").envelope(), {}
    if status == 500:
        deadlock = "(1213, 'Deadlock found when trying to get lock; try restarting transaction')"
        return FrappeError("QueryDeadlockError", exception_text=deadlock, messages=[]).envelope(), {}
    if status == 503:
        return FrappeError("SessionStopped", "Session Stopped").envelope(), {}
    if status == 417:
        stale = (
            "Error: Document has been modified after you have opened it "
            "(2025-01-01 00:00:00.000000, 2024-12-31 23:59:59.000000). "
            "Please refresh to get the latest document."
        )
        return FrappeError("TimestampMismatchError", stale).envelope(), {}
    if status == 401:
        return FrappeError("AuthenticationError", messages=[]).envelope(), {}
    if status == 403:
        return FrappeError("PermissionError", error_message="Not permitted", messages=[]).envelope(), {}
    if status == 404:
        return FrappeError("DoesNotExistError", messages=[]).envelope(), {}
    return FrappeError("ValidationError", f"injected fault {status}").envelope(), {}


def rate_limit_headers(seconds: int) -> dict[str, str]:
    """Frappe's limiter on a refused request (ref/erpnext.md §8, ``frappe/rate_limiter.py``):
    ``Retry-After`` and ``X-RateLimit-Reset`` both in seconds, the budget in microseconds."""
    return {
        "Retry-After": str(seconds),
        "X-RateLimit-Reset": str(seconds),
        "X-RateLimit-Limit": str(RATE_LIMIT_MICROSECONDS),
        "X-RateLimit-Remaining": "0",
    }


#: The budget an injected 429 reports: Frappe counts server time, in microseconds (600 s a window).
RATE_LIMIT_MICROSECONDS = 600 * 1_000_000
