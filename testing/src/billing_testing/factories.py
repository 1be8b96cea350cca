"""Valid events for tests."""

from __future__ import annotations

from typing import Any

from lovia_billing import CustomerUpserted, InvoiceRequested


def customer(customer_id: str = "cus_1", **overrides: Any) -> CustomerUpserted:
    fields: dict[str, Any] = {
        "customer_id": customer_id,
        "request_key": "key-1",
        "email": f"{customer_id}@example.com",
        "name": "Budi Santoso",
    }
    return CustomerUpserted.create(**{**fields, **overrides})


def invoice_requested(
    invoice_id: str = "inv_1", customer_id: str = "cus_1", **overrides: Any
) -> InvoiceRequested:
    fields: dict[str, Any] = {
        "customer_id": customer_id,
        "invoice_id": invoice_id,
        "currency": "IDR",
        "amount": "150000",
        "lines": [{"item_code": "PLAN-PRO", "description": "Pro", "quantity": 1, "unit_amount": "150000"}],
        "description": "Pro plan, November",
        "payer_email": "budi@example.com",
    }
    return InvoiceRequested.create(**{**fields, **overrides})
