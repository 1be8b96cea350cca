"""Pure translation between our events and Xendit's objects: no I/O here.

* ``invoice.requested`` → the create request (``external_id`` = our invoice id; ``metadata`` and
  ``customer.customer_id`` carry our ids, so follow-ups take them from Xendit's copy).
* a callback is checked against the invoice fetched from Xendit's API (``confirmation_problems``).
* a confirmed invoice → ``PaymentSucceeded`` / ``InvoiceExpired``, built only from the API's copy,
  so PAID and SETTLED callbacks of one invoice yield the very same event.
* other products' callbacks → ``PaymentSucceeded`` when their metadata names our invoice and customer.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from lovia_billing import (
    InvoiceExpired,
    InvoiceIssued,
    InvoiceRequested,
    PaymentSucceeded,
    PermanentError,
    XenditInvoiceExpired,
    XenditInvoicePaid,
)
from lovia_billing._money import SUPPORTED_CURRENCIES
from lovia_billing.clients.xendit import (
    PAID_STATUSES,
    CreateInvoiceRequest,
    Invoice,
    InvoiceCustomer,
    InvoiceItem,
)

CUSTOMER_KEY = "lovia_customer_id"
INVOICE_KEY = "lovia_invoice_id"
SUBSCRIPTION_KEY = "lovia_subscription_id"
PLAN_KEY = "lovia_plan_id"

InvoiceCallback = XenditInvoicePaid | XenditInvoiceExpired


def create_request(event: InvoiceRequested, duration_seconds: int) -> CreateInvoiceRequest:
    """The ``POST /v2/invoices`` body for a requested invoice."""
    metadata = {CUSTOMER_KEY: event.customer_id, INVOICE_KEY: event.invoice_id}
    if event.subscription_id:
        metadata[SUBSCRIPTION_KEY] = event.subscription_id
    if event.plan_id:
        metadata[PLAN_KEY] = event.plan_id
    return CreateInvoiceRequest(
        external_id=event.invoice_id,
        amount=event.amount,
        currency=event.currency,
        description=event.description,
        payer_email=event.payer_email,
        invoice_duration=duration_seconds,
        customer=InvoiceCustomer(customer_id=event.customer_id, email=event.payer_email),
        items=tuple(
            InvoiceItem(
                name=line.description,
                price=line.unit_amount,
                quantity=line.quantity,
                reference_id=line.item_code,
            )
            for line in event.lines
        ),
        metadata=metadata,
    )


def pick_existing(invoices: list[Invoice]) -> Invoice | None:
    """The invoice to keep when Xendit already holds some for our ``external_id``.

    A paid one wins, then an open one, then the oldest: one of them is *the* invoice, whatever
    duplicates an older client may have left behind.
    """
    if not invoices:
        return None

    def rank(invoice: Invoice) -> tuple[int, datetime]:
        order = 0 if invoice.is_paid else 1 if invoice.status == "PENDING" else 2
        return order, invoice.created

    return min(invoices, key=rank)


def check_same_invoice(event: InvoiceRequested, invoice: Invoice) -> None:
    """Refuse to treat a Xendit invoice with other money as ours (a reused invoice id)."""
    if invoice.amount != event.amount or (invoice.currency or event.currency) != event.currency:
        raise PermanentError(
            f"Xendit invoice {invoice.id} already has external_id {event.invoice_id} but is for "
            f"{invoice.amount} {invoice.currency}, not {event.amount} {event.currency}"
        )


def issued_event(event: InvoiceRequested, invoice: Invoice) -> InvoiceIssued:
    fields = event.model_dump(exclude={"event_id", "type"})
    return InvoiceIssued.create(
        **fields,
        xendit_invoice_id=invoice.id,
        invoice_url=invoice.invoice_url,
        issued_at=invoice.created,
        expires_at=invoice.expiry_date,
    )


def confirmation_problems(callback: InvoiceCallback, invoice: Invoice) -> list[str]:
    """Where the callback and Xendit's API disagree (empty when the API confirms the callback)."""
    problems: list[str] = []

    def differs(field: str, at_xendit: object, claimed: object) -> None:
        if at_xendit != claimed:
            problems.append(f"{field} is {at_xendit} at Xendit but {claimed} in the callback")

    differs("external_id", invoice.external_id, callback.external_id)
    differs("currency", invoice.currency or callback.currency, callback.currency)
    differs("amount", invoice.amount, callback.amount)
    if callback.status in PAID_STATUSES:
        if not invoice.is_paid:
            differs("status", invoice.status, callback.status)
        elif invoice.paid_amount is None or invoice.paid_at is None:
            problems.append("Xendit shows the invoice paid but no paid_amount or paid_at")
        elif callback.paid_amount is not None:
            differs("paid_amount", invoice.paid_amount, callback.paid_amount)
    elif invoice.status == "PENDING":
        differs("status", invoice.status, callback.status)
    return problems


def owner(invoice: Invoice) -> tuple[str, str]:
    """Our (customer id, invoice id) for a Xendit invoice, from Xendit's own copy of it."""
    metadata = invoice.metadata or {}
    customer_id = metadata.get(CUSTOMER_KEY) or (invoice.customer.customer_id if invoice.customer else None)
    if not customer_id:
        raise PermanentError(
            f"Xendit invoice {invoice.id} names no customer of ours "
            f"(no metadata.{CUSTOMER_KEY}, no customer.customer_id): not created by xendit_sync"
        )
    return str(customer_id), str(metadata.get(INVOICE_KEY) or invoice.external_id)


def _currency(currency: str | None, where: str) -> str:
    if currency not in SUPPORTED_CURRENCIES:
        raise PermanentError(f"{where}: currency {currency} is not one we book")
    return currency


def payment_event(invoice: Invoice) -> PaymentSucceeded:
    """The payment of a paid invoice, from the API's copy only (same event for PAID and SETTLED).

    ``fees``: Xendit's fee where the invoice shows it (``paid_amount - adjusted_received_amount``).
    ``after_expiry``: paid after the invoice's expiry date (a late payment after EXPIRED).
    ``payment_id``: Xendit's payment id, else the card charge id, else the invoice id.
    """
    if invoice.paid_amount is None or invoice.paid_at is None:
        raise PermanentError(
            f"Xendit invoice {invoice.id} is {invoice.status} without paid_amount or paid_at"
        )
    customer_id, invoice_id = owner(invoice)
    received = invoice.adjusted_received_amount
    fees = invoice.paid_amount - received if received is not None and received <= invoice.paid_amount else 0
    return PaymentSucceeded.create(
        customer_id=customer_id,
        invoice_id=invoice_id,
        xendit_invoice_id=invoice.id,
        payment_id=invoice.payment_id or invoice.credit_card_charge_id or invoice.id,
        currency=_currency(invoice.currency, f"Xendit invoice {invoice.id}"),
        amount=invoice.paid_amount,
        fees=Decimal(fees),
        method=invoice.payment_method,
        channel=invoice.payment_channel,
        paid_at=invoice.paid_at,
        after_expiry=invoice.paid_at > invoice.expiry_date,
    )


def expired_event(invoice: Invoice) -> InvoiceExpired:
    customer_id, invoice_id = owner(invoice)
    return InvoiceExpired.create(
        customer_id=customer_id,
        invoice_id=invoice_id,
        xendit_invoice_id=invoice.id,
        currency=_currency(invoice.currency, f"Xendit invoice {invoice.id}"),
        amount=invoice.amount,
        expired_at=min(invoice.expiry_date, invoice.updated),
    )


def belongs_to_subscription(invoice: Invoice, customer_id: str, subscription_id: str) -> bool:
    metadata = invoice.metadata or {}
    return metadata.get(SUBSCRIPTION_KEY) == subscription_id and metadata.get(CUSTOMER_KEY) == customer_id


# --- other Xendit products (envelope callbacks, ref §6-7) -----------------------------------------


def _data(payload: dict[str, Any]) -> dict[str, Any]:
    data = payload.get("data", payload)
    return data if isinstance(data, dict) else {}


def _ours(data: dict[str, Any], what: str) -> tuple[str, str]:
    metadata = data.get("metadata") or {}
    customer_id, invoice_id = metadata.get(CUSTOMER_KEY), metadata.get(INVOICE_KEY)
    if not customer_id or not invoice_id:
        missing = [
            key for key, value in ((CUSTOMER_KEY, customer_id), (INVOICE_KEY, invoice_id)) if not value
        ]
        raise PermanentError(f"{what}: metadata lacks {' and '.join(missing)}, so it cannot be booked to us")
    return str(customer_id), str(invoice_id)


def _amount(value: Any, what: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | Decimal | str):
        raise PermanentError(f"{what}: no amount")
    return Decimal(value)


def recurring_cycle_payment(event_name: str, payload: dict[str, Any]) -> PaymentSucceeded | None:
    """``recurring.cycle.succeeded`` → ``PaymentSucceeded``; other cycle events book nothing (None)."""
    if event_name != "recurring.cycle.succeeded":
        return None
    data = _data(payload)
    cycle_id = data.get("id")
    what = f"recurring cycle {cycle_id}"
    if not cycle_id:
        raise PermanentError("recurring.cycle.succeeded without data.id")
    customer_id, invoice_id = _ours(data, what)
    attempts = data.get("attempt_details") or []
    last = attempts[-1] if attempts and isinstance(attempts[-1], dict) else {}
    paid_at = last.get("created") or data.get("updated")
    if not paid_at:
        raise PermanentError(f"{what}: no attempt time or updated time")
    return PaymentSucceeded.create(
        customer_id=customer_id,
        invoice_id=invoice_id,
        xendit_invoice_id=str(cycle_id),  # the cycle is what was paid: our natural key
        payment_id=str(last.get("payment_id") or last.get("action_id") or cycle_id),
        currency=_currency(data.get("currency"), what),
        amount=_amount(data.get("amount"), what),
        method="RECURRING",
        channel=None,
        paid_at=paid_at,
    )


def payment_request_payment(event_name: str, payload: dict[str, Any]) -> PaymentSucceeded | None:
    """``payment.succeeded`` (Payments API v2) → ``PaymentSucceeded``; other events book nothing."""
    data = _data(payload)
    if event_name != "payment.succeeded" or data.get("status") != "SUCCEEDED":
        return None
    payment_id = data.get("id")
    what = f"payment {payment_id}"
    if not payment_id:
        raise PermanentError("payment.succeeded without data.id")
    customer_id, invoice_id = _ours(data, what)
    method = data.get("payment_method") or {}
    channel = None
    for kind in ("ewallet", "virtual_account", "qr_code", "direct_debit", "over_the_counter", "card"):
        if isinstance(method.get(kind), dict):
            channel = method[kind].get("channel_code")
    paid_at = data.get("updated") or data.get("created")
    if not paid_at:
        raise PermanentError(f"{what}: no updated or created time")
    return PaymentSucceeded.create(
        customer_id=customer_id,
        invoice_id=invoice_id,
        xendit_invoice_id=str(data.get("payment_request_id") or payment_id),
        payment_id=str(payment_id),
        currency=_currency(data.get("currency"), what),
        amount=_amount(data.get("amount"), what),
        method=method.get("type"),
        channel=channel,
        paid_at=paid_at,
    )


def fva_payment(payload: dict[str, Any]) -> PaymentSucceeded:
    """A fixed-VA payment cannot name our invoice: Xendit's ``fva_paid`` body has no metadata."""
    data = _data(payload)
    raise PermanentError(
        f"fixed VA payment {data.get('payment_id')} (FVA external_id {data.get('external_id')!r}) cannot be "
        f"booked: Xendit's fva_paid callback carries no metadata naming our invoice and customer, and "
        f"xendit_sync creates no fixed VAs; pay invoices through Xendit invoices instead"
    )
