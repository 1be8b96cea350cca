"""Lovia Billing's shared library: what every service imports, defined once.

Public surface (sorted); implementation lives in private ``_module.py`` files. Modules with I/O
(``aws``, ``provision``, ``publisher``, ``ledger``, ``consumer``) are imported explicitly by the
services that need them, so the domain stays free of boto and httpx.
"""

from lovia_billing._canonical import body_hash, canonical_json, derive_event_id
from lovia_billing._errors import (
    BillingError,
    ConfigurationError,
    ConfirmationMismatch,
    DownstreamTimeout,
    DownstreamUnavailable,
    PermanentError,
    PublishError,
    RateLimited,
    RetryableError,
)
from lovia_billing._events import (
    CustomerUpserted,
    DomainEvent,
    Event,
    EventType,
    InvoiceExpired,
    InvoiceIssued,
    InvoiceLine,
    InvoiceRequested,
    PaymentSucceeded,
    RefundSucceeded,
    ServicePeriod,
    SubscriptionCancelled,
    XenditCallback,
    XenditInvoiceExpired,
    XenditInvoicePaid,
    XenditProduct,
    event_from_data,
    parse_event,
)
from lovia_billing._money import (
    SUPPORTED_CURRENCIES,
    Amount,
    Currency,
    JsonNumber,
    ProviderAmount,
    check_precision,
    from_minor_units,
    to_minor_units,
)
from lovia_billing._settings import BillingSettings, ConsumerSettings, IngestSettings
from lovia_billing.topology import Integration, Topology

__all__ = [
    "SUPPORTED_CURRENCIES",
    "Amount",
    "BillingError",
    "BillingSettings",
    "ConfigurationError",
    "ConfirmationMismatch",
    "ConsumerSettings",
    "Currency",
    "CustomerUpserted",
    "DomainEvent",
    "DownstreamTimeout",
    "DownstreamUnavailable",
    "Event",
    "EventType",
    "IngestSettings",
    "Integration",
    "InvoiceExpired",
    "InvoiceIssued",
    "InvoiceLine",
    "InvoiceRequested",
    "JsonNumber",
    "PaymentSucceeded",
    "PermanentError",
    "ProviderAmount",
    "PublishError",
    "RateLimited",
    "RefundSucceeded",
    "RetryableError",
    "ServicePeriod",
    "SubscriptionCancelled",
    "Topology",
    "XenditCallback",
    "XenditInvoiceExpired",
    "XenditInvoicePaid",
    "XenditProduct",
    "body_hash",
    "canonical_json",
    "check_precision",
    "derive_event_id",
    "event_from_data",
    "from_minor_units",
    "parse_event",
    "to_minor_units",
]
