"""The mutations' inputs: the ``/v1`` bodies, field for field (validated by the same models).

GraphQL types each field; everything else — patterns, lengths, e-mail, amounts and their
currency's precision, time zones — is checked by the REST models (``ingest.models.api``) and the
events, so both doors refuse the same things with the same field names (``body.amount``...).
"""

from __future__ import annotations

import dataclasses
from datetime import date, datetime
from typing import Any, NewType

import strawberry
from graphql import FloatValueNode, IntValueNode, StringValueNode, ValueNode

from lovia_billing import JsonNumber


def _money_value(value: Any) -> Any:
    """Passed on as sent: the REST model decides, so a float is refused with REST's own words."""
    return value


def _money_literal(node: ValueNode, _variables: Any = None) -> Any:
    """A literal in the document, as the same JSON value would reach REST."""
    if isinstance(node, StringValueNode):
        return node.value
    if isinstance(node, IntValueNode):
        return int(node.value)
    if isinstance(node, FloatValueNode):
        return JsonNumber(node.value)  # what REST's JSON decoding makes of a float: refused as one
    raise ValueError("Money is a decimal string or an integer")


Money = NewType("Money", str)
MONEY = strawberry.scalar(
    name="Money",
    description=(
        'An exact amount in the currency\'s major unit: a decimal string ("150000", "12.50") or an '
        "integer. IDR and VND have no decimals; at most the currency's maximum."
    ),
    serialize=str,
    parse_value=_money_value,
    parse_literal=_money_literal,
)


@strawberry.input(description="The customer as Lovia knows it now (`PUT /v1/customers/{id}`).")
class CustomerInput:
    email: str
    name: str
    company: str | None = None
    phone: str | None = None
    country: str | None = strawberry.field(default=None, description="ISO 3166-1 alpha-2")
    plan: str | None = None


@strawberry.input
class InvoiceLineInput:
    item_code: str
    description: str
    quantity: int
    unit_amount: Money


@strawberry.input
class ServicePeriodInput:
    start: date
    end: date


@strawberry.input(description="An invoice to request (`POST /v1/invoices`); `invoiceId` is yours, forever.")
class InvoiceInput:
    invoice_id: str
    customer_id: str
    currency: str
    amount: Money = strawberry.field(description="Must equal the sum of the lines.")
    lines: list[InvoiceLineInput]
    description: str
    payer_email: str
    subscription_id: str | None = None
    plan_id: str | None = None
    period: ServicePeriodInput | None = None
    due_date: date | None = None


@strawberry.input(description="A subscription's end (`POST /v1/subscriptions/{id}/cancel`).")
class CancellationInput:
    customer_id: str
    cancelled_at: datetime = strawberry.field(description="When it ends; a time zone is required.")
    reason: str | None = None


def as_body(value: Any) -> dict[str, Any]:
    """An input as the REST body it mirrors (snake_case keys, nested inputs as objects)."""
    body: dict[str, Any] = dataclasses.asdict(value)
    return body
