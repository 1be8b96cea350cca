"""ChartMogul's objects as typed models: ``New*`` for what we send, the plain names for what we read.

Responses ignore fields we do not use, so a field ChartMogul adds never breaks us. Times are sent as
UTC with an explicit ``Z`` (ChartMogul assumes UTC when no zone is given; we never leave it to chance).
Amounts are integers in the currency's minor unit (``amount_in_cents``), never floats.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer


def utc_text(value: datetime) -> str:
    """``2025-01-31T00:00:00Z``; a naive time is taken as UTC."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


#: A time sent to ChartMogul: ``2025-01-31T00:00:00Z``.
UtcTime = Annotated[datetime, PlainSerializer(utc_text, return_type=str)]
IntervalUnit = Literal["day", "month", "year"]


class _Request(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    def payload(self) -> dict[str, object]:
        return self.model_dump(mode="json", exclude_none=True)


class _Response(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


# --- what we send ------------------------------------------------------------------------------


class NewCustomer(_Request):
    data_source_uuid: str
    external_id: str
    name: str
    email: str | None = None
    company: str | None = None
    country: str | None = Field(default=None, description="ISO 3166-1 alpha-2")


class CustomerUpdate(_Request):
    name: str | None = None
    email: str | None = None
    company: str | None = None
    country: str | None = None


class NewPlan(_Request):
    data_source_uuid: str
    external_id: str
    name: str
    interval_count: int = Field(ge=1)
    interval_unit: IntervalUnit


class NewLineItem(_Request):
    type: Literal["subscription", "one_time"]
    amount_in_cents: int = Field(description="final amount for the quantity and period, minor units")
    quantity: int = 1
    external_id: str | None = None
    subscription_external_id: str | None = None
    plan_uuid: str | None = None
    service_period_start: UtcTime | None = None
    service_period_end: UtcTime | None = None
    cancelled_at: UtcTime | None = None
    description: str | None = None


class NewTransaction(_Request):
    type: Literal["payment", "refund"]
    result: Literal["successful", "failed"]
    date: UtcTime
    external_id: str | None = None
    amount_in_cents: int | None = Field(default=None, description="absent: the invoice's full value")
    transaction_fees_in_cents: int | None = None
    transaction_fees_currency: str | None = None


class NewInvoice(_Request):
    external_id: str
    date: UtcTime
    currency: str = Field(min_length=3, max_length=3)
    line_items: list[NewLineItem] = Field(min_length=1)
    transactions: list[NewTransaction] = Field(default_factory=list)
    due_date: UtcTime | None = None


# --- what we read ------------------------------------------------------------------------------


class DataSource(_Response):
    uuid: str
    name: str
    system: str = ""
    status: str = ""


class Customer(_Response):
    uuid: str
    external_id: str
    data_source_uuid: str = ""
    name: str = ""
    email: str = ""
    company: str = ""
    country: str | None = None
    status: str = ""


class Plan(_Response):
    uuid: str
    external_id: str
    name: str
    interval_count: int
    interval_unit: str
    data_source_uuid: str = ""


class LineItem(_Response):
    uuid: str
    type: str
    amount_in_cents: int
    quantity: int = 1
    external_id: str | None = None
    subscription_uuid: str | None = None
    subscription_external_id: str | None = None
    plan_uuid: str | None = None
    service_period_start: datetime | None = None
    service_period_end: datetime | None = None


class Transaction(_Response):
    uuid: str
    type: str
    result: str
    date: datetime
    external_id: str | None = None
    amount_in_cents: int | None = None


class Invoice(_Response):
    uuid: str
    external_id: str
    date: datetime
    currency: str
    due_date: datetime | None = None
    customer_uuid: str | None = None
    line_items: list[LineItem] = Field(default_factory=list)
    transactions: list[Transaction] = Field(default_factory=list)


class Subscription(_Response):
    """A subscription as the import API lists it (``/v1/import/customers/{uuid}/subscriptions``)."""

    uuid: str
    external_id: str
    plan_uuid: str | None = None
    customer_uuid: str | None = None
    data_source_uuid: str | None = None
    cancellation_dates: list[datetime] = Field(default_factory=list)
