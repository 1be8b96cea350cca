"""Async httpx clients for the downstream APIs (one subpackage each), sharing ``_http``'s error map."""

from lovia_billing.clients._http import DEFAULT_TIMEOUT, json_or_text, raise_for_status, send
from lovia_billing.clients._wait import RETRY_AFTER, WaitHeader, WaitUnit, wait_seconds

__all__ = [
    "DEFAULT_TIMEOUT",
    "RETRY_AFTER",
    "WaitHeader",
    "WaitUnit",
    "json_or_text",
    "raise_for_status",
    "send",
    "wait_seconds",
]
