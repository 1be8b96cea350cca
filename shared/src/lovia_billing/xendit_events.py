"""Xendit's API copies → our events, without I/O: used by xendit_sync and by the reconciliation.

xendit_sync books a confirmed payment, expiry or refund with these functions; ``billing reconcile``
builds with the very same functions what the books should hold for what Xendit shows, and the
callback event that would have produced it (``paid_callback``, ``expired_callback``,
``refund_callback``, ``payment_request_callback``), so a repair goes through xendit_sync's
confirmation exactly as the missed callback would have, under the same event id.

* ``payment_event``: the payment of a paid invoice, from the API's copy only (same event for PAID
  and SETTLED); its ``payment_id`` is ``invoice_payment_id`` (docs/xendit.md, "Payment identity").
* ``expired_event``: an invoice that expired unpaid.
* ``refund_event``: a confirmed refund of a confirmed payment; never more than was paid.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from lovia_billing._errors import PermanentError
from lovia_billing._events import (
    InvoiceExpired,
    PaymentSucceeded,
    RefundSucceeded,
    XenditCallback,
    XenditInvoiceExpired,
    XenditInvoicePaid,
    XenditProduct,
)
from lovia_billing._money import SUPPORTED_CURRENCIES
from lovia_billing.clients.xendit._models import Invoice
from lovia_billing.clients.xendit._products import Capture, PaymentRequest, Refund

#: The metadata keys xendit_sync sets on every Xendit object it creates for us.
CUSTOMER_KEY = "lovia_customer_id"
INVOICE_KEY = "lovia_invoice_id"
SUBSCRIPTION_KEY = "lovia_subscription_id"
PLAN_KEY = "lovia_plan_id"


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


def bookable_currency(currency: str | None, where: str) -> str:
    """``currency`` if it is one we book, else ``PermanentError`` naming ``where``."""
    if currency not in SUPPORTED_CURRENCIES:
        raise PermanentError(f"{where}: currency {currency} is not one we book")
    return currency


def invoice_payment_id(invoice: Invoice) -> str:
    """The identity of an invoice's payment: the underlying payment's id, which other products'
    callbacks (a fixed VA, an e-wallet charge) carry too; the invoice id only when Xendit gives none."""
    return invoice.payment_id or invoice.credit_card_charge_id or invoice.id


def payment_event(invoice: Invoice) -> PaymentSucceeded:
    """The payment of a paid invoice, from the API's copy only (same event for PAID and SETTLED).

    ``fees``: Xendit's fee where the invoice shows it (``paid_amount - adjusted_received_amount``).
    ``after_expiry``: paid after the invoice's expiry date (a late payment after EXPIRED).
    ``payment_id``: the payment's identity (``invoice_payment_id``).
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
        payment_id=invoice_payment_id(invoice),
        source=XenditProduct.INVOICE,
        currency=bookable_currency(invoice.currency, f"Xendit invoice {invoice.id}"),
        amount=invoice.paid_amount,
        invoice_amount=invoice.amount,
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
        currency=bookable_currency(invoice.currency, f"Xendit invoice {invoice.id}"),
        amount=invoice.amount,
        expired_at=min(invoice.expiry_date, invoice.updated),
    )


def refund_event(refund: Refund, payment: PaymentSucceeded) -> RefundSucceeded:
    """A confirmed refund of a confirmed payment; never more than was paid."""
    if refund.currency != payment.currency:
        raise PermanentError(f"refund {refund.id} is in {refund.currency}, its payment in {payment.currency}")
    if refund.amount > payment.amount:
        raise PermanentError(
            f"refund {refund.id} of {refund.amount} is more than "
            f"payment {payment.payment_id} ({payment.amount})"
        )
    return RefundSucceeded.create(
        customer_id=payment.customer_id,
        invoice_id=payment.invoice_id,
        xendit_invoice_id=payment.xendit_invoice_id,
        payment_id=payment.payment_id,
        refund_id=refund.id,
        currency=payment.currency,
        amount=refund.amount,
        refunded_at=refund.updated,
        reason=refund.reason[:500] if refund.reason else None,
    )


# --- the callbacks that would have reported them (the reconciliation's repairs) -----------------


def paid_callback(invoice: Invoice, customer_id: str) -> XenditInvoicePaid:
    """The ``xendit.invoice.paid`` event the ingest makes of this invoice's PAID callback.

    Always status PAID (a SETTLED invoice was PAID first, and that callback is the one that can go
    missing), the fields the ingest takes from the callback, read here from the API's copy: the
    same event id as the real callback's, and the same body when Xendit's callback matches its API.
    """
    return XenditInvoicePaid.create(
        customer_id=customer_id,
        xendit_invoice_id=invoice.id,
        external_id=invoice.external_id,
        status="PAID",
        currency=invoice.currency or "IDR",
        amount=invoice.amount,
        paid_amount=invoice.paid_amount,
        payment_method=invoice.payment_method,
        payment_channel=invoice.payment_channel,
        payment_id=invoice.payment_id,
        paid_at=invoice.paid_at,
    )


def expired_callback(invoice: Invoice, customer_id: str) -> XenditInvoiceExpired:
    """The ``xendit.invoice.expired`` event the ingest makes of this invoice's EXPIRED callback."""
    return XenditInvoiceExpired.create(
        customer_id=customer_id,
        xendit_invoice_id=invoice.id,
        external_id=invoice.external_id,
        status="EXPIRED",
        currency=invoice.currency or "IDR",
        amount=invoice.amount,
    )


def _envelope_key(event: str, object_id: str, status: str) -> str:
    """The ingest's natural key of an envelope callback (``EnvelopeCallback.natural_key``)."""
    return "|".join((event, object_id, status, ""))


def _json_ready(values: dict[str, Any]) -> dict[str, Any]:
    """Decimals as strings, as the ingest stores a callback's payload (nothing is booked from it)."""
    return {key: str(value) if isinstance(value, Decimal) else value for key, value in values.items()}


def refund_callback(refund: Refund, customer_id: str) -> XenditCallback:
    """The ``xendit.callback`` event of this refund's ``refund.succeeded``: same product and key as
    the real callback's, so the same event id; xendit_sync confirms it through the Refunds API."""
    data = _json_ready(
        {
            "id": refund.id,
            "status": refund.status,
            "invoice_id": refund.invoice_id,
            "payment_request_id": refund.payment_request_id,
            "payment_id": refund.payment_id,
            "amount": refund.amount,
            "currency": refund.currency,
        }
    )
    return XenditCallback.create(
        customer_id=customer_id,
        product=XenditProduct.REFUND,
        event="refund.succeeded",
        object_id=refund.id,
        key=_envelope_key("refund.succeeded", refund.id, refund.status),
        payload={"event": "refund.succeeded", "data": {k: v for k, v in data.items() if v is not None}},
    )


def payment_request_callback(request: PaymentRequest, capture: Capture, customer_id: str) -> XenditCallback:
    """The ``xendit.callback`` event of a payment request's ``payment.succeeded`` (``data.id`` is the
    capture's payment), confirmed by xendit_sync through the payment request and its captures."""
    data = _json_ready(
        {
            "id": capture.payment_id,
            "status": capture.status,
            "payment_request_id": request.id,
            "reference_id": request.reference_id,
            "amount": capture.captured_amount,
            "currency": request.currency,
            "metadata": request.metadata,
        }
    )
    return XenditCallback.create(
        customer_id=customer_id,
        product=XenditProduct.PAYMENT_REQUEST,
        event="payment.succeeded",
        object_id=capture.payment_id,
        key=_envelope_key("payment.succeeded", capture.payment_id, capture.status),
        payload={"event": "payment.succeeded", "data": {k: v for k, v in data.items() if v is not None}},
    )
