"""Sample request and callback bodies, shaped as the APIs document them (docs/xendit.md)."""

from __future__ import annotations

from typing import Any

INVOICE_PAID_CALLBACK: dict[str, Any] = {
    "id": "6748105a77f16ebe0cc583a7",
    "external_id": "inv_2026_0001",
    "user_id": "5f0c0bbf2c2c2c0012c0ffee",
    "status": "PAID",
    "merchant_name": "Lovia",
    "amount": 150000,
    "paid_amount": 150000,
    "currency": "IDR",
    "payment_method": "BANK_TRANSFER",
    "payment_channel": "BCA",
    "payment_id": "pay_1",
    "paid_at": "2026-11-25T03:04:05.123Z",
    "created": "2026-11-25T03:00:00.000Z",
    "updated": "2026-11-25T03:04:05.456Z",
}

RECURRING_CYCLE_CALLBACK: dict[str, Any] = {
    "event": "recurring.cycle.succeeded",
    "business_id": "5f0c0bbf2c2c2c0012c0ffee",
    "created": "2026-11-25T03:04:05.908220358Z",
    "data": {
        "id": "recy-1234",
        "status": "SUCCEEDED",
        "reference_id": "sub_0001",
        "customer_id": "cust-0001",
        "amount": 150000,
        "currency": "IDR",
        "metadata": {"lovia_customer_id": "cus_0001"},
    },
}

FVA_PAID_CALLBACK: dict[str, Any] = {
    "id": "fva1",
    "payment_id": "1502450097",
    "callback_virtual_account_id": "cva1",
    "owner_id": "biz1",
    "external_id": "cus_0001",
    "account_number": "9999000001",
    "bank_code": "BCA",
    "amount": 150000,
    "transaction_timestamp": "2026-11-25T03:04:05.000Z",
}

CUSTOMER: dict[str, Any] = {
    "email": "budi@example.co.id",
    "name": "Budi Santoso",
    "company": "PT Contoh Digital",
    "country": "ID",
    "plan": "pro-monthly",
}

INVOICE_REQUEST: dict[str, Any] = {
    "invoice_id": "inv_2026_0001",
    "customer_id": "cus_0001",
    "currency": "IDR",
    "amount": "150000",
    "lines": [{"item_code": "PLAN-PRO", "description": "Pro plan", "quantity": 1, "unit_amount": 150000}],
    "description": "Lovia Pro, December 2026",
    "payer_email": "budi@example.co.id",
    "subscription_id": "sub_0001",
    "plan_id": "pro-monthly",
    "period": {"start": "2026-12-01", "end": "2026-12-31"},
}
