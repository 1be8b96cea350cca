"""The Xendit client: invoices created, read, listed and expired over Xendit's HTTP API."""

from lovia_billing.clients.xendit._client import XenditClient
from lovia_billing.clients.xendit._models import (
    PAID_STATUSES,
    CreateInvoiceRequest,
    Invoice,
    InvoiceCustomer,
    InvoiceFee,
    InvoiceItem,
    InvoiceStatus,
)

__all__ = [
    "PAID_STATUSES",
    "CreateInvoiceRequest",
    "Invoice",
    "InvoiceCustomer",
    "InvoiceFee",
    "InvoiceItem",
    "InvoiceStatus",
    "XenditClient",
]
