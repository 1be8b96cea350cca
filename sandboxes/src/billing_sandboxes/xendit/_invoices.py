"""Invoices as Xendit keeps them: validation of ``POST /v2/invoices``, the invoice object, its states.

Invoices are plain dicts shaped exactly like Xendit's JSON (money as ``Decimal``), kept in memory.
A duplicate ``external_id`` is accepted and creates a second invoice, as Xendit does (ref §4).
The channels offered follow the currency (IDR: Indonesian banks, e-wallets, QRIS...; PHP: GCASH,
PAYMAYA, GRABPAY, 7ELEVEN, CEBUANA, DD_BPI...). ``callback_virtual_account_id`` binds a fixed VA:
the invoice then offers only that account, and a payment into it pays the invoice.
"""

from __future__ import annotations

import secrets
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_DOWN, Decimal
from typing import Any

from billing_sandboxes.xendit._channels import available
from billing_sandboxes.xendit._clock import iso
from billing_sandboxes.xendit._config import XenditSandboxConfig
from billing_sandboxes.xendit._errors import XenditApiError, invoice_not_found, validation_error
from billing_sandboxes.xendit._validate import amount as amount_of
from billing_sandboxes.xendit._validate import metadata, optional_str

Invoice = dict[str, Any]

CURRENCIES = ("IDR", "PHP", "USD", "THB", "VND", "MYR")
STATUSES = ("PENDING", "PAID", "SETTLED", "EXPIRED")
DEFAULT_DURATION = 86400
MAX_DURATION = 31_536_000


def _check_list(body: dict[str, Any], field: str, limit: int, required: tuple[str, ...]) -> list[Any] | None:
    items = body.get(field)
    if items is None:
        return None
    if not isinstance(items, list) or len(items) > limit:
        raise validation_error(f"{field} must be an array of at most {limit} entries")
    for item in items:
        missing = [name for name in required if not isinstance(item, dict) or item.get(name) is None]
        if missing:
            raise validation_error(f"{field} entries require {', '.join(missing)}")
    return items


def _available_banks(
    amount: Decimal, currency: str, merchant_name: str, fixed_va: dict[str, Any] | None
) -> list[dict[str, Any]]:
    if fixed_va is not None:  # a bound fixed VA is the only bank account offered
        return [
            {
                "bank_code": fixed_va["bank_code"],
                "collection_type": "CALLBACK_VIRTUAL_ACCOUNT",
                "transfer_amount": amount,
                "bank_account_number": fixed_va["account_number"],
                "bank_branch": "Virtual Account",
                "account_holder_name": fixed_va["name"],
                "identity_amount": 0,
            }
        ]
    return [
        {
            "bank_code": code,
            "collection_type": "POOL",
            "transfer_amount": amount,
            "bank_branch": "Virtual Account",
            "account_holder_name": merchant_name.upper(),
            "identity_amount": 0,
        }
        for code in available(currency, "va")
    ]


def build_invoice(
    body: dict[str, Any],
    config: XenditSandboxConfig,
    moment: datetime,
    fixed_va: dict[str, Any] | None = None,
) -> Invoice:
    """Validate a create request and return the new invoice object (``API_VALIDATION_ERROR`` otherwise).

    ``fixed_va`` is the fixed VA named by ``callback_virtual_account_id`` (looked up by the caller).
    """
    external_id = body.get("external_id")
    if not isinstance(external_id, str) or not external_id:
        raise validation_error("external_id is required")
    if body.get("amount") is None:
        raise validation_error("amount is required")
    currency = body.get("currency", "IDR")
    if currency not in CURRENCIES:
        raise validation_error(f"currency must be one of {', '.join(CURRENCIES)}")
    amount = amount_of(body["amount"], positive=False)
    if currency == "IDR":
        amount = amount.to_integral_value(rounding=ROUND_DOWN)  # Xendit truncates IDR decimals
    if amount <= 0:
        raise validation_error("amount must be greater than 0")
    duration = body.get("invoice_duration", DEFAULT_DURATION)
    valid_type = isinstance(duration, (int, Decimal)) and not isinstance(duration, bool)
    if not valid_type or not 1 <= duration <= MAX_DURATION:
        raise validation_error(f"invoice_duration must be between 1 and {MAX_DURATION} seconds")
    customer = body.get("customer")
    if customer is not None and not isinstance(customer, dict):
        raise validation_error("customer must be an object")
    payment_methods = body.get("payment_methods")
    invoice_id = secrets.token_hex(12)
    invoice: Invoice = {
        "id": invoice_id,
        "external_id": external_id,
        "user_id": config.business_id,
        "status": "PENDING",
        "merchant_name": config.merchant_name,
        "merchant_profile_picture_url": "https://du8nwjtfkinx.cloudfront.net/xendit.png",
        "amount": amount,
        "expiry_date": iso(moment + timedelta(seconds=int(duration))),
        "invoice_url": f"{config.checkout_base_url}/{invoice_id}",
        "available_banks": _available_banks(amount, currency, config.merchant_name, fixed_va),
        "available_retail_outlets": [{"retail_outlet_name": n} for n in available(currency, "retail")],
        "available_ewallets": [{"ewallet_type": name} for name in available(currency, "ewallet")],
        "available_qr_codes": [{"qr_code_type": name} for name in available(currency, "qr")],
        "available_direct_debits": [
            {"direct_debit_type": name} for name in available(currency, "direct_debit")
        ],
        "available_paylaters": [{"paylater_type": name} for name in available(currency, "paylater")],
        "should_exclude_credit_card": False,
        "should_send_email": bool(body.get("should_send_email", False)),
        "created": iso(moment),
        "updated": iso(moment),
        "currency": currency,
    }
    optional = {
        "payer_email": optional_str(body, "payer_email"),
        "description": optional_str(body, "description"),
        "success_redirect_url": optional_str(body, "success_redirect_url"),
        "failure_redirect_url": optional_str(body, "failure_redirect_url"),
        "locale": optional_str(body, "locale"),
        "customer": customer,
        "customer_notification_preference": body.get("customer_notification_preference"),
        "items": _check_list(body, "items", 75, ("name", "price", "quantity")),
        "fees": _check_list(body, "fees", 10, ("type", "value")),
        "metadata": metadata(body.get("metadata")),
        "payment_methods": payment_methods,
        "should_authenticate_credit_card": body.get("should_authenticate_credit_card"),
        "callback_virtual_account_id": None if fixed_va is None else fixed_va["id"],
    }
    invoice.update({key: value for key, value in optional.items() if value is not None})
    return invoice


@dataclass(frozen=True)
class TimeRange:
    """``<field>_after`` / ``<field>_before`` of the invoice list: both ends included when given."""

    after: datetime | None = None
    before: datetime | None = None

    def holds(self, value: str | None) -> bool:
        if value is None:
            return False
        moment = datetime.fromisoformat(value)
        return (self.after is None or moment >= self.after) and (self.before is None or moment <= self.before)


class InvoiceStore:
    """The sandbox's invoices, newest last; thread-safe because tests read state from other threads."""

    def __init__(self) -> None:
        self._invoices: dict[str, Invoice] = {}
        self._lock = threading.Lock()

    def add(self, invoice: Invoice) -> Invoice:
        with self._lock:
            self._invoices[invoice["id"]] = invoice
            return dict(invoice)

    def find(self, invoice_id: str) -> Invoice | None:
        with self._lock:
            invoice = self._invoices.get(invoice_id)
            return None if invoice is None else dict(invoice)

    def get(self, invoice_id: str) -> Invoice:
        with self._lock:
            invoice = self._invoices.get(invoice_id)
            if invoice is None:
                raise invoice_not_found(invoice_id)
            return dict(invoice)

    def all(self) -> list[Invoice]:
        with self._lock:
            return [dict(invoice) for invoice in self._invoices.values()]

    def clear(self) -> None:
        with self._lock:
            self._invoices.clear()

    def search(
        self,
        *,
        external_id: str | None = None,
        statuses: list[str] | None = None,
        limit: int = 10,
        last_invoice: str | None = None,
        ranges: dict[str, TimeRange] | None = None,
    ) -> list[Invoice]:
        """Newest first, like Xendit's list; ``last_invoice`` continues after that id.

        ``ranges``: per invoice field (``created``, ``paid_at``, ``expiry_date``), the moments it must
        lie between (both ends included); an invoice without the field (unpaid: no ``paid_at``) is out.
        """
        with self._lock:
            found = [
                dict(invoice)
                for invoice in reversed(self._invoices.values())
                if (external_id is None or invoice["external_id"] == external_id)
                and (not statuses or invoice["status"] in statuses)
                and all(window.holds(invoice.get(name)) for name, window in (ranges or {}).items())
            ]
        if last_invoice is not None:
            ids = [invoice["id"] for invoice in found]
            found = found[ids.index(last_invoice) + 1 :] if last_invoice in ids else []
        return found[:limit]

    def update(self, invoice_id: str, changes: dict[str, Any], *, allowed: tuple[str, ...]) -> Invoice:
        """Apply ``changes`` if the invoice's status is in ``allowed``; else 400 naming the status."""
        with self._lock:
            invoice = self._invoices.get(invoice_id)
            if invoice is None:
                raise invoice_not_found(invoice_id)
            if invoice["status"] not in allowed:
                raise XenditApiError(
                    400,
                    "INVALID_INVOICE_STATUS",
                    f"Invoice {invoice_id} is {invoice['status']}; this needs {' or '.join(allowed)}",
                )
            invoice.update(changes)
            return dict(invoice)
