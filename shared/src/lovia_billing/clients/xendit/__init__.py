"""The Xendit client: invoices created, read, listed and expired; other products read to confirm callbacks."""

from lovia_billing.clients.xendit._client import XenditClient, xendit_time
from lovia_billing.clients.xendit._models import (
    PAID_STATUSES,
    CreateInvoiceRequest,
    Invoice,
    InvoiceCustomer,
    InvoiceFee,
    InvoiceItem,
    InvoiceStatus,
)
from lovia_billing.clients.xendit._pacing import RateLimitPacer
from lovia_billing.clients.xendit._products import (
    Capture,
    CaptureList,
    CycleAttempt,
    EwalletCharge,
    FvaPayment,
    PaymentMethodRef,
    PaymentRequest,
    RecurringCycle,
    Refund,
)

__all__ = [
    "PAID_STATUSES",
    "Capture",
    "CaptureList",
    "CreateInvoiceRequest",
    "CycleAttempt",
    "EwalletCharge",
    "FvaPayment",
    "Invoice",
    "InvoiceCustomer",
    "InvoiceFee",
    "InvoiceItem",
    "InvoiceStatus",
    "PaymentMethodRef",
    "PaymentRequest",
    "RateLimitPacer",
    "RecurringCycle",
    "Refund",
    "XenditClient",
    "xendit_time",
]
