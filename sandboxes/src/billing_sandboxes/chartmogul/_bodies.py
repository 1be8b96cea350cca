"""ChartMogul's response conventions: timestamps, error bodies, list envelopes.

Error shapes are the ones recorded from the real API (see the handbook's ``ref/chartmogul.md`` §2);
texts that no recording shows are the sandbox's own and marked so.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

UNAUTHORIZED = {"code": 401, "message": "No valid API key provided", "param": None}
#: The documented 429 text; the body envelope of a real 429 is not recorded (assumed like 401's).
RATE_LIMITED = {"code": 429, "message": "Your request rate has exceeded our rate limit.", "param": None}
#: 503 is how ChartMogul refuses a 21st parallel connection; body not recorded (assumed like 401's).
TOO_MANY_CONNECTIONS = {"code": 503, "message": "Service unavailable", "param": None}

#: Duplicate texts, verbatim from the official Go client's constants.
CUSTOMER_EXISTS = "The external ID for this customer already exists in our system."
PLAN_EXISTS = "A plan with this identifier already exists in our system."
INVOICE_EXISTS = "The external ID for this invoice already exists in our system."
LINE_ITEM_EXISTS = "The external ID for this line item already exists in our system."
TAKEN = "has already been taken"
#: Refund amount checks: the sandbox's own texts (the rule follows the docs, no recording shows the words).
REFUND_NOT_POSITIVE = "must be greater than 0"
REFUND_ABOVE_INVOICE = "cannot be greater than the invoice total"
NAME_TAKEN = "Has already been taken."


def missing_parameter(name: str) -> dict[str, Any]:
    """400, as recorded: ``{"code":400,"message":"Parameter \\"name\\" is missing","param":"name"}``."""
    return {"code": 400, "message": f'Parameter "{name}" is missing', "param": name}


def not_found(what: str) -> dict[str, Any]:
    """404 on a resource, in the 2025 recorded form."""
    message = f"{what} not found"
    return {
        "error": message,
        "error_details": [{"param": what.lower().replace(" ", "_"), "code": "invalid", "message": message}],
    }


def invalid(errors: dict[str, str]) -> dict[str, Any]:
    """422 on a single resource: ``{"errors": {field: message}}``."""
    return {"errors": errors}


def error_body_for(status: int) -> tuple[dict[str, Any] | str, dict[str, str]]:
    """What the sandbox answers for an injected status (``FaultMiddleware``)."""
    if status == 401:
        return UNAUTHORIZED, {}
    if status == 429:
        return RATE_LIMITED, {}
    if status == 503:
        return TOO_MANY_CONNECTIONS, {}
    if status >= 500:
        # The edge answers 5xx in plain text (recorded: "500 Internal Server Error").
        return f"{status} Server Error", {}
    return {"code": status, "message": "Injected fault", "param": None}, {}


def timestamp(value: datetime | None) -> str | None:
    """``2016-01-01T12:00:00.000Z``: how ChartMogul writes every import-API time."""
    if value is None:
        return None
    value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def offset_timestamp(value: datetime | None) -> str | None:
    """``2016-01-01T12:00:00+00:00``: the customer's ``customer-since`` form."""
    return None if value is None else value.astimezone(UTC).replace(microsecond=0).isoformat()


def parse_time(value: Any) -> datetime | None:
    """ISO 8601 in any form ChartMogul accepts; no zone means UTC, a bare date means midnight."""
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    if text.endswith(" UTC"):
        text = text[:-4]
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def paginated(key: str, items: list[Any], query: Mapping[str, str]) -> dict[str, Any]:
    """One page of ``items`` in ChartMogul's list envelope (``per_page`` + opaque ``cursor``)."""
    per_page = int(query["per_page"]) if query.get("per_page", "").isdigit() else 200
    per_page = max(1, min(per_page, 200))
    cursor = query.get("cursor") or ""
    start = int(cursor) if cursor.isdigit() else 0
    has_more = start + per_page < len(items)
    return {
        key: items[start : start + per_page],
        "current_page": start // per_page + 1,
        "total_pages": -(-len(items) // per_page),
        "has_more": has_more,
        "per_page": per_page,
        "page": start // per_page + 1,
        "cursor": str(start + per_page) if has_more else None,
    }


def rate_limit_headers(_seconds: int) -> dict[str, str]:
    """None: ChartMogul documents no ``Retry-After`` or ``X-RateLimit-*`` header on its 429 (ref §1)."""
    return {}
