"""Valid domain events for erpnext_sync's tests, overridable field by field."""

from __future__ import annotations

from typing import Any

from lovia_billing import (
    CustomerUpserted,
    InvoiceExpired,
    InvoiceIssued,
    PaymentSucceeded,
    RefundSucceeded,
    SubscriptionCancelled,
)


def customer(customer_id: str = "cus_1", **overrides: Any) -> CustomerUpserted:
    fields: dict[str, Any] = {
        "customer_id": customer_id,
        "request_key": "key-1",
        "email": "budi@example.com",
        "name": "Budi Santoso",
        "company": "Toko Budi",
        "phone": "+6281234567",
    }
    return CustomerUpserted.create(**{**fields, **overrides})


def invoice(invoice_id: str = "inv_1", customer_id: str = "cus_1", **overrides: Any) -> InvoiceIssued:
    fields: dict[str, Any] = {
        "customer_id": customer_id,
        "invoice_id": invoice_id,
        "currency": "IDR",
        "amount": "150000",
        "lines": [
            {"item_code": "PLAN-PRO", "description": "Pro plan", "quantity": 1, "unit_amount": "150000"}
        ],
        "description": "Pro plan, November",
        "payer_email": "budi@example.com",
        "subscription_id": "sub_1",
        "period": {"start": "2025-11-01", "end": "2025-11-30"},
        "xendit_invoice_id": f"xnd_{invoice_id}",
        "invoice_url": "https://checkout.xendit.co/web/xnd_1",
        "issued_at": "2025-10-31T18:30:00Z",  # 1 November, 01:30 in Jakarta
        "expires_at": "2025-11-07T18:30:00Z",
    }
    return InvoiceIssued.create(**{**fields, **overrides})


def payment(
    payment_id: str = "pay_1", invoice_id: str = "inv_1", customer_id: str = "cus_1", **overrides: Any
) -> PaymentSucceeded:
    fields: dict[str, Any] = {
        "customer_id": customer_id,
        "invoice_id": invoice_id,
        "xendit_invoice_id": f"xnd_{invoice_id}_{payment_id}",
        "payment_id": payment_id,
        "currency": "IDR",
        "amount": "150000",
        "fees": "4500",
        "method": "BANK_TRANSFER",
        "channel": "BCA",
        "paid_at": "2025-11-02T03:00:00Z",
    }
    return PaymentSucceeded.create(**{**fields, **overrides})


def expired(invoice_id: str = "inv_1", customer_id: str = "cus_1") -> InvoiceExpired:
    return InvoiceExpired.create(
        customer_id=customer_id,
        invoice_id=invoice_id,
        xendit_invoice_id=f"xnd_{invoice_id}",
        currency="IDR",
        amount="150000",
        expired_at="2025-11-07T18:30:00Z",
    )


def cancelled(subscription_id: str = "sub_1", customer_id: str = "cus_1") -> SubscriptionCancelled:
    return SubscriptionCancelled.create(
        customer_id=customer_id,
        subscription_id=subscription_id,
        cancelled_at="2025-11-10T02:00:00Z",
        reason="too expensive",
    )


def refund(
    refund_id: str = "rfd_1", payment_id: str = "pay_1", invoice_id: str = "inv_1", **overrides: Any
) -> RefundSucceeded:
    fields: dict[str, Any] = {
        "customer_id": "cus_1",
        "invoice_id": invoice_id,
        "xendit_invoice_id": f"xnd_{invoice_id}_{payment_id}",
        "payment_id": payment_id,
        "refund_id": refund_id,
        "currency": "IDR",
        "amount": "150000",
        "refunded_at": "2025-11-05T04:00:00Z",  # 11:00 in Jakarta
        "reason": "REQUESTED_BY_CUSTOMER",
    }
    return RefundSucceeded.create(**{**fields, **overrides})
