"""The ERPNext (Frappe v15) client: documents keyed by our custom fields, errors mapped for the runtime."""

from lovia_billing.clients.erpnext._client import ErpnextClient, resource_path
from lovia_billing.clients.erpnext._errors import (
    ErpnextConflict,
    ErpnextRejected,
    raise_for_erpnext,
    server_messages,
)
from lovia_billing.clients.erpnext._fields import (
    CUSTOM_FIELDS,
    CUSTOMER_ID_FIELD,
    INVOICE_ID_FIELD,
    SUBSCRIPTION_ID_FIELD,
    XENDIT_INVOICE_ID_FIELD,
    XENDIT_PAYMENT_ID_FIELD,
    XENDIT_REFUND_ID_FIELD,
    CustomFieldSpec,
    ensure_custom_fields,
)
from lovia_billing.clients.erpnext._models import (
    Comment,
    Customer,
    Document,
    PaymentEntry,
    PaymentEntryDeduction,
    PaymentEntryReference,
    SalesInvoice,
    SalesInvoiceItem,
)

__all__ = [
    "CUSTOMER_ID_FIELD",
    "CUSTOM_FIELDS",
    "INVOICE_ID_FIELD",
    "SUBSCRIPTION_ID_FIELD",
    "XENDIT_INVOICE_ID_FIELD",
    "XENDIT_PAYMENT_ID_FIELD",
    "XENDIT_REFUND_ID_FIELD",
    "Comment",
    "CustomFieldSpec",
    "Customer",
    "Document",
    "ErpnextClient",
    "ErpnextConflict",
    "ErpnextRejected",
    "PaymentEntry",
    "PaymentEntryDeduction",
    "PaymentEntryReference",
    "SalesInvoice",
    "SalesInvoiceItem",
    "ensure_custom_fields",
    "raise_for_erpnext",
    "resource_path",
    "server_messages",
]
