"""Events of one customer's life, as the other services publish them."""

from __future__ import annotations

from datetime import UTC, datetime

from lovia_billing import (
    CustomerUpserted,
    InvoiceExpired,
    InvoiceIssued,
    PaymentSucceeded,
    SubscriptionCancelled,
)

CUSTOMER = "cus_0001"
WHEN = datetime(2025, 3, 4, 10, 15, tzinfo=UTC)


def customer(email: str = "siti@lovia.example", **fields: object) -> CustomerUpserted:
    return CustomerUpserted.create(
        customer_id=CUSTOMER,
        request_key=f"key-{email}",
        email=email,
        name=fields.pop("name", "Siti Nur Aisyah"),
        company=fields.pop("company", "Lovia Studio"),
        plan=fields.pop("plan", "pro-monthly"),
        **fields,
    )


def issued(invoice_id: str = "inv_1") -> InvoiceIssued:
    return InvoiceIssued.create(
        customer_id=CUSTOMER,
        invoice_id=invoice_id,
        currency="IDR",
        amount="150000",
        lines=[{"item_code": "pro", "description": "Pro plan", "quantity": 1, "unit_amount": "150000"}],
        description="Pro plan, March",
        payer_email="siti@lovia.example",
        xendit_invoice_id=f"x_{invoice_id}",
        invoice_url=f"https://checkout.example/{invoice_id}",
        issued_at=WHEN,
        expires_at=WHEN,
    )


def paid(invoice_id: str = "inv_1") -> PaymentSucceeded:
    return PaymentSucceeded.create(
        customer_id=CUSTOMER,
        invoice_id=invoice_id,
        xendit_invoice_id=f"x_{invoice_id}",
        payment_id=f"pay_{invoice_id}",
        currency="IDR",
        amount="150000",
        paid_at=WHEN,
    )


def expired(invoice_id: str = "inv_1") -> InvoiceExpired:
    return InvoiceExpired.create(
        customer_id=CUSTOMER,
        invoice_id=invoice_id,
        xendit_invoice_id=f"x_{invoice_id}",
        currency="IDR",
        amount="150000",
        expired_at=WHEN,
    )


def cancelled() -> SubscriptionCancelled:
    return SubscriptionCancelled.create(customer_id=CUSTOMER, subscription_id="sub_1", cancelled_at=WHEN)
