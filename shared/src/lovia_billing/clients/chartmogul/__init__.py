"""ChartMogul's Import API v1: an async client, its models and its errors (see ``_client``)."""

from lovia_billing.clients.chartmogul._client import (
    MAX_CONNECTIONS,
    PRODUCTION_URL,
    RATE_WINDOW_SECONDS,
    ChartMogulClient,
)
from lovia_billing.clients.chartmogul._errors import (
    AlreadyExists,
    ChartMogulRejected,
    field_errors,
    is_already_exists,
)
from lovia_billing.clients.chartmogul._models import (
    Customer,
    CustomerUpdate,
    DataSource,
    IntervalUnit,
    Invoice,
    LineItem,
    NewCustomer,
    NewInvoice,
    NewLineItem,
    NewPlan,
    NewTransaction,
    Plan,
    Subscription,
    Transaction,
    utc_text,
)

__all__ = [
    "MAX_CONNECTIONS",
    "PRODUCTION_URL",
    "RATE_WINDOW_SECONDS",
    "AlreadyExists",
    "ChartMogulClient",
    "ChartMogulRejected",
    "Customer",
    "CustomerUpdate",
    "DataSource",
    "IntervalUnit",
    "Invoice",
    "LineItem",
    "NewCustomer",
    "NewInvoice",
    "NewLineItem",
    "NewPlan",
    "NewTransaction",
    "Plan",
    "Subscription",
    "Transaction",
    "field_errors",
    "is_already_exists",
    "utc_text",
]
