"""Async httpx clients for the downstream APIs (one subpackage each), sharing ``_http``'s error map."""

from lovia_billing.clients._http import (
    DEFAULT_TIMEOUT,
    json_or_text,
    raise_for_status,
    retry_after_seconds,
    send,
)

__all__ = ["DEFAULT_TIMEOUT", "json_or_text", "raise_for_status", "retry_after_seconds", "send"]
