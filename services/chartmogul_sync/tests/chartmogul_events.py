"""Events of one customer's month, as the other services publish them."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from lovia_billing import (
    CustomerUpserted,
    InvoiceExpired,
    InvoiceIssued,
    PaymentSucceeded,
    RefundSucceeded,
    SubscriptionCancelled,
)

CUSTOMER = "cus_0001"
INVOICE = "inv_2025_01"
SUBSCRIPTION = "sub_0001"


def customer(name: str = "Ani Lestari", **extra: Any) -> CustomerUpserted:
    fields = {"email": "ani@example.id", "company": "Toko Ani", "country": "ID", "plan": "basic", **extra}
    return CustomerUpserted.create(customer_id=CUSTOMER, request_key=f"k-{name}", name=name, **fields)


def invoice(**extra: Any) -> InvoiceIssued:
    fields: dict[str, Any] = {
        "customer_id": CUSTOMER,
        "invoice_id": INVOICE,
        "currency": "IDR",
        "amount": "150000",
        "lines": [
            {"item_code": "basic", "description": "Lovia Basic", "quantity": 1, "unit_amount": "150000"}
        ],
        "description": "Lovia Basic, January 2025",
        "payer_email": "ani@example.id",
        "subscription_id": SUBSCRIPTION,
        "period": {"start": date(2025, 1, 1), "end": date(2025, 1, 31)},
        "due_date": date(2025, 1, 8),
        "xendit_invoice_id": "xnd_inv_1",
        "invoice_url": "https://checkout.xendit.co/web/xnd_inv_1",
        "issued_at": datetime(2025, 1, 1, 1, 0, tzinfo=UTC),
        "expires_at": datetime(2025, 1, 8, tzinfo=UTC),
    }
    return InvoiceIssued.create(**(fields | extra))


def payment(**extra: Any) -> PaymentSucceeded:
    fields: dict[str, Any] = {
        "customer_id": CUSTOMER,
        "invoice_id": INVOICE,
        "xendit_invoice_id": "xnd_inv_1",
        "payment_id": "pay_xnd_1",
        "currency": "IDR",
        "amount": "150000",
        "fees": "4995",
        "method": "BANK_TRANSFER",
        "paid_at": datetime(2025, 1, 3, 9, 30, tzinfo=UTC),
    }
    return PaymentSucceeded.create(**(fields | extra))


def refund(**extra: Any) -> RefundSucceeded:
    fields: dict[str, Any] = {
        "customer_id": CUSTOMER,
        "invoice_id": INVOICE,
        "xendit_invoice_id": "xnd_inv_1",
        "payment_id": "pay_xnd_1",
        "refund_id": "rfd_xnd_1",
        "currency": "IDR",
        "amount": "150000",
        "refunded_at": datetime(2025, 1, 6, 8, tzinfo=UTC),
        "reason": "REQUESTED_BY_CUSTOMER",
    }
    return RefundSucceeded.create(**(fields | extra))


def expiry() -> InvoiceExpired:
    return InvoiceExpired.create(
        customer_id=CUSTOMER,
        invoice_id=INVOICE,
        xendit_invoice_id="xnd_inv_1",
        currency="IDR",
        amount="150000",
        expired_at=datetime(2025, 1, 8, tzinfo=UTC),
    )


def cancellation(at: datetime = datetime(2025, 1, 20, 12, tzinfo=UTC)) -> SubscriptionCancelled:
    return SubscriptionCancelled.create(customer_id=CUSTOMER, subscription_id=SUBSCRIPTION, cancelled_at=at)
