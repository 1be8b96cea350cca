"""How ChartMogul says "no", as errors of Lovia Billing's hierarchy.

    PermanentError
    └── ChartMogulRejected      a 4xx whose body names fields (``errors``: field → messages)
        └── AlreadyExists       a 422 that only says our own ``external_id`` is already stored

ChartMogul reports duplicates as **422** (never 409) with fixed texts (handbook ``ref/chartmogul.md`` §5).
``AlreadyExists`` is success for an idempotent writer: the record it wanted is there.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from lovia_billing._errors import PermanentError

#: The duplicate texts, verbatim from ChartMogul's official Go client.
CUSTOMER_EXISTS = "The external ID for this customer already exists in our system."
PLAN_EXISTS = "A plan with this identifier already exists in our system."
INVOICE_EXISTS = "The external ID for this invoice already exists in our system."
LINE_ITEM_EXISTS = "The external ID for this line item already exists in our system."
TAKEN = "has already been taken"

_EXISTS_TEXTS = frozenset({CUSTOMER_EXISTS, PLAN_EXISTS, INVOICE_EXISTS, TAKEN})
#: Keys that may accompany ``external_id`` when an invoice is imported again with its entities.
_ENTITY_EXISTS = {"line_items.external_id": {LINE_ITEM_EXISTS}, "transactions.external_id": {TAKEN}}


class ChartMogulRejected(PermanentError):
    """ChartMogul refused the request as it is; ``errors`` holds its field messages, if any."""

    def __init__(self, message: str, *, status: int, errors: Mapping[str, list[str]] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.errors: dict[str, list[str]] = dict(errors or {})


class AlreadyExists(ChartMogulRejected):
    """The ``resource`` with our ``external_id`` is already in ChartMogul (a retried create)."""

    def __init__(
        self, message: str, *, resource: str, external_id: str, errors: Mapping[str, list[str]]
    ) -> None:
        super().__init__(message, status=422, errors=errors)
        self.resource = resource
        self.external_id = external_id


def _messages(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [str(item) for item in value]
    return [str(value)]


def field_errors(body: Any) -> dict[str, list[str]]:
    """Field → messages from any of ChartMogul's 422 shapes:

    ``{"errors": {...}}``, ``{"invoices": [{..., "errors": {...}}]}`` and
    ``{"name": [...], "error_details": [...]}``.
    Values may be a string or a list of strings (newer stored invoices), so both are read.
    """
    if not isinstance(body, dict):
        return {}
    found: dict[str, list[str]] = {}
    sources: list[Any] = [body.get("errors")]
    invoices = body.get("invoices")
    if isinstance(invoices, list):
        sources += [inv.get("errors") for inv in invoices if isinstance(inv, dict)]
    if not any(isinstance(s, dict) and s for s in sources):
        sources = [{k: v for k, v in body.items() if k != "error_details" and isinstance(v, list)}]
    for source in sources:
        if isinstance(source, dict):
            for key, value in source.items():
                found.setdefault(str(key), []).extend(_messages(value))
    return found


def is_already_exists(errors: Mapping[str, list[str]]) -> bool:
    """True when the only complaint is that our ``external_id`` exists (with, for an invoice, its own
    line items' and transactions' ids). A *new* invoice whose transaction id exists is not this."""
    if not set(errors.get("external_id", [])) or not set(errors["external_id"]) <= _EXISTS_TEXTS:
        return False
    return all(
        key == "external_id" or (key in _ENTITY_EXISTS and set(msgs) <= _ENTITY_EXISTS[key])
        for key, msgs in errors.items()
    )
