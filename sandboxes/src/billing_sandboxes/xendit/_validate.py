"""Checks of request bodies shared by the products; each failure is 400 ``API_VALIDATION_ERROR``."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from billing_sandboxes.xendit._errors import validation_error

#: Currency → the country Xendit's newer APIs pair it with.
COUNTRY_OF: dict[str, str] = {"IDR": "ID", "PHP": "PH", "VND": "VN", "THB": "TH", "MYR": "MY", "USD": "ID"}


def body_object(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise validation_error("request body must be a JSON object")
    return body


def required_str(body: dict[str, Any], field: str) -> str:
    value = body.get(field)
    if not isinstance(value, str) or not value:
        raise validation_error(f"{field} is required")
    return value


def optional_str(body: dict[str, Any], field: str) -> str | None:
    value = body.get(field)
    if value is not None and not isinstance(value, str):
        raise validation_error(f"{field} must be a string")
    return value


def optional_bool(body: dict[str, Any], field: str, default: bool) -> bool:
    value = body.get(field, default)
    if not isinstance(value, bool):
        raise validation_error(f"{field} must be a boolean")
    return value


def amount(value: Any, field: str = "amount", *, positive: bool = True) -> Decimal:
    """A JSON number (parsed as ``Decimal``); ``positive`` refuses 0 as well as negatives."""
    if value is None:
        raise validation_error(f"{field} is required")
    if isinstance(value, bool) or not isinstance(value, (int, Decimal)):
        raise validation_error(f"{field} must be a number")
    number = Decimal(value)
    if not number.is_finite() or number < 0 or (positive and number == 0):
        raise validation_error(f"{field} must be a {'positive' if positive else 'non-negative'} number")
    return number


def one_of(value: Any, field: str, allowed: Iterable[str], *, default: str | None = None) -> str:
    allowed = tuple(allowed)
    if value is None and default is not None:
        return default
    if value not in allowed:
        raise validation_error(f"{field} must be one of {', '.join(allowed)}")
    return str(value)


def metadata(value: Any, *, max_keys: int = 50, max_value: int = 500) -> dict[str, Any] | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise validation_error("metadata must be an object")
    if len(value) > max_keys:
        raise validation_error(f"metadata can have at most {max_keys} keys")
    for key, item in value.items():
        if len(key) > 40:
            raise validation_error(f"metadata key {key[:40]}... is longer than 40 characters")
        if isinstance(item, str) and len(item) > max_value:
            raise validation_error(f"metadata value of {key} is longer than {max_value} characters")
    return value


def optional_object(body: dict[str, Any], field: str) -> dict[str, Any] | None:
    value = body.get(field)
    if value is not None and not isinstance(value, dict):
        raise validation_error(f"{field} must be an object")
    return value
