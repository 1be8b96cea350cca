"""ERPNext's error envelope decoded, and mapped onto the runtime's error classes (ref/erpnext.md §4, §9).

* 417 ``UniqueValidationError`` / 409 ``DuplicateEntryError`` → ``ErpnextConflict`` (retryable): the
  document is probably there already; re-read it by its external id.
* 417 ``TimestampMismatchError``/``DocumentLockedError``, 500 ``QueryDeadlockError``/``QueryTimeoutError``,
  502/503/504, timeouts → retryable (``DownstreamUnavailable``/``DownstreamTimeout``).
* 429 → ``RateLimited`` with ``Retry-After`` (else Frappe's ``X-RateLimit-Reset``: seconds left, ref §8).
* other 4xx (``LinkValidationError``, ``MandatoryError``, ``ValidationError``, 401, 403, 404) →
  ``ErpnextRejected`` (permanent), carrying ERPNext's own message decoded from ``_server_messages``.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Any

import httpx

from lovia_billing._errors import PermanentError, RetryableError
from lovia_billing.clients._http import raise_for_status
from lovia_billing.clients._wait import RETRY_AFTER, WaitHeader, WaitUnit

SYSTEM = "erpnext"
#: Frappe's limiter sends ``Retry-After`` on a refused request and ``X-RateLimit-Reset`` as the seconds
#: until its window ends (``frappe/rate_limiter.py``), not a timestamp.
WAIT_HEADERS = (RETRY_AFTER, WaitHeader("X-RateLimit-Reset", WaitUnit.SECONDS_LEFT))

#: 417s that succeed when simply tried again.
RETRYABLE_EXC_TYPES = frozenset(
    {
        "TimestampMismatchError",
        "DocumentLockedError",
        "RateLimitExceededError",
        "QueryDeadlockError",
        "QueryTimeoutError",
    }
)
#: The write collided with an existing document: re-read instead of failing.
CONFLICT_EXC_TYPES = frozenset({"UniqueValidationError", "DuplicateEntryError"})

_TAG = re.compile(r"<[^>]+>")
_TITLE = re.compile(r"<title>(.*?)</title>", re.IGNORECASE | re.DOTALL)


class ErpnextConflict(RetryableError):
    """A unique field or the name already exists: the caller re-reads by its external id."""

    def __init__(self, message: str, *, exc_type: str, messages: list[str]) -> None:
        super().__init__(message)
        self.exc_type = exc_type
        self.messages = messages


class ErpnextRejected(PermanentError):
    """ERPNext refused the request for good; ``messages`` are its own words."""

    def __init__(self, message: str, *, status: int, exc_type: str | None, messages: list[str]) -> None:
        super().__init__(message)
        self.status = status
        self.exc_type = exc_type
        self.messages = messages


def parse_json(response: httpx.Response) -> Any:
    """The body with numbers as ``Decimal`` (ERPNext sends money as JSON floats); text if not JSON."""
    try:
        return json.loads(response.content, parse_float=Decimal)
    except ValueError:
        return response.text


def server_messages(body: Any) -> list[str]:
    """``_server_messages`` decoded twice, HTML stripped: ``["Could not find Customer: cus_1"]``."""
    if not isinstance(body, dict) or not isinstance(body.get("_server_messages"), str):
        return []
    try:
        items = json.loads(body["_server_messages"])
    except ValueError:
        return []
    texts: list[str] = []
    for item in items if isinstance(items, list) else []:
        try:
            decoded = json.loads(item) if isinstance(item, str) else item
        except ValueError:
            decoded = item
        text = decoded.get("message") if isinstance(decoded, dict) else decoded
        if text:
            texts.append(_TAG.sub("", str(text)).strip())
    return texts


def error_text(body: Any, response: httpx.Response) -> str:
    """The most useful line ERPNext (or the proxy in front of it) gave."""
    messages = server_messages(body)
    if messages:
        return "; ".join(messages)
    if isinstance(body, dict):
        for key in ("_error_message", "exception", "exc_type"):
            if body.get(key):
                return _TAG.sub("", str(body[key]))
    if isinstance(body, str) and (title := _TITLE.search(body)):
        return title.group(1).strip()
    return response.reason_phrase or str(response.status_code)


def raise_for_erpnext(response: httpx.Response) -> None:
    """Raise the error class for a non-2xx ERPNext response (see the module docstring)."""
    if response.is_success:
        return
    body = parse_json(response)
    exc_type = body.get("exc_type") if isinstance(body, dict) else None
    messages = server_messages(body)
    text = error_text(body, response)
    where = f"{SYSTEM} {response.request.method} {response.request.url.path} → {response.status_code}"
    if exc_type in CONFLICT_EXC_TYPES:
        raise ErpnextConflict(f"{where}: {exc_type}: {text}", exc_type=str(exc_type), messages=messages)
    if exc_type == "OperationalError" and "Unknown column" in str(body.get("exception", "")):
        raise ErpnextRejected(
            f"{where}: {text} (a custom field is missing: run `billing erpnext setup`)",
            status=response.status_code,
            exc_type=exc_type,
            messages=messages,
        )
    permanent: bool | None = None
    if exc_type in RETRYABLE_EXC_TYPES:
        permanent = False
    elif response.status_code == 417:
        permanent = True
    try:
        raise_for_status(
            response,
            f"{exc_type}: {text}" if exc_type else text,
            system=SYSTEM,
            wait_headers=WAIT_HEADERS,
            permanent=permanent,
        )
    except PermanentError as exc:
        raise ErpnextRejected(
            str(exc), status=response.status_code, exc_type=exc_type, messages=messages
        ) from None
