"""Events of one customer's life, as the other services publish them.

Business times are hours after ``WHEN``, so a test says when each thing happened independently of
the order it delivers the events in.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from lovia_billing import (
    CustomerUpserted,
    InvoiceExpired,
    InvoiceIssued,
    PaymentSucceeded,
    RefundSucceeded,
    SubscriptionCancelled,
)

CUSTOMER = "cus_0001"
EMAIL = "siti@lovia.example"
WHEN = datetime(2025, 3, 4, 10, 15, tzinfo=UTC)
AMOUNT = "150000"


def at(hour: float) -> datetime:
    return WHEN + timedelta(hours=hour)


def customer(email: str = EMAIL, customer_id: str = CUSTOMER, **fields: object) -> CustomerUpserted:
    return CustomerUpserted.create(
        customer_id=customer_id,
        request_key=f"key-{email}",
        email=email,
        name=fields.pop("name", "Siti Nur Aisyah"),
        company=fields.pop("company", "Lovia Studio"),
        plan=fields.pop("plan", "pro-monthly"),
        **fields,
    )


def issued(
    invoice_id: str = "inv_1",
    amount: str = AMOUNT,
    *,
    hour: float = 0,
    payer_email: str = EMAIL,
    customer_id: str = CUSTOMER,
) -> InvoiceIssued:
    return InvoiceIssued.create(
        customer_id=customer_id,
        invoice_id=invoice_id,
        currency="IDR",
        amount=amount,
        lines=[{"item_code": "pro", "description": "Pro plan", "quantity": 1, "unit_amount": amount}],
        description="Pro plan, March",
        payer_email=payer_email,
        xendit_invoice_id=f"x_{invoice_id}",
        invoice_url=f"https://checkout.example/{invoice_id}",
        issued_at=at(hour),
        expires_at=at(hour + 24),
    )


def paid(
    invoice_id: str = "inv_1",
    amount: str = AMOUNT,
    *,
    hour: float = 1,
    payment_id: str | None = None,
    invoice_amount: str | None = None,
    customer_id: str = CUSTOMER,
) -> PaymentSucceeded:
    return PaymentSucceeded.create(
        customer_id=customer_id,
        invoice_id=invoice_id,
        xendit_invoice_id=f"x_{invoice_id}",
        payment_id=payment_id or f"pay_{invoice_id}",
        invoice_amount=invoice_amount,
        currency="IDR",
        amount=amount,
        paid_at=at(hour),
    )


def refunded(
    invoice_id: str = "inv_1",
    amount: str = AMOUNT,
    *,
    hour: float = 2,
    refund_id: str | None = None,
    payment_id: str | None = None,
    customer_id: str = CUSTOMER,
) -> RefundSucceeded:
    return RefundSucceeded.create(
        customer_id=customer_id,
        invoice_id=invoice_id,
        xendit_invoice_id=f"x_{invoice_id}",
        payment_id=payment_id or f"pay_{invoice_id}",
        refund_id=refund_id or f"rfd_{invoice_id}",
        currency="IDR",
        amount=amount,
        refunded_at=at(hour),
    )


def expired(invoice_id: str = "inv_1", *, hour: float = 24, customer_id: str = CUSTOMER) -> InvoiceExpired:
    return InvoiceExpired.create(
        customer_id=customer_id,
        invoice_id=invoice_id,
        xendit_invoice_id=f"x_{invoice_id}",
        currency="IDR",
        amount=AMOUNT,
        expired_at=at(hour),
    )


def cancelled(
    subscription_id: str = "sub_1", *, hour: float = 48, customer_id: str = CUSTOMER
) -> SubscriptionCancelled:
    return SubscriptionCancelled.create(
        customer_id=customer_id, subscription_id=subscription_id, cancelled_at=at(hour)
    )
