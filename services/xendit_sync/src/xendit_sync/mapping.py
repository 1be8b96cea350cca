"""Pure translation between our events and Xendit's objects: no I/O here.

* ``invoice.requested`` → the create request (``external_id`` = our invoice id; ``metadata`` and
  ``customer.customer_id`` carry our ids, so follow-ups take them from Xendit's copy).
* a callback is checked against the invoice fetched from Xendit's API (``confirmation_problems``).
* a confirmed invoice → ``PaymentSucceeded`` / ``InvoiceExpired``, built only from the API's copy,
  so PAID and SETTLED callbacks of one invoice yield the very same event.
* other products' payments, once ``xendit_sync.products`` confirmed them, → ``PaymentSucceeded``
  booked to the Lovia invoice Xendit holds for them; confirmed refunds → ``RefundSucceeded``.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from lovia_billing import (
    InvoiceExpired,
    InvoiceIssued,
    InvoiceRequested,
    PaymentSucceeded,
    PermanentError,
    RefundSucceeded,
    XenditInvoiceExpired,
    XenditInvoicePaid,
    XenditProduct,
)
from lovia_billing._money import SUPPORTED_CURRENCIES
from lovia_billing.clients.xendit import (
    PAID_STATUSES,
    CreateInvoiceRequest,
    Invoice,
    InvoiceCustomer,
    InvoiceItem,
    Refund,
)
from xendit_sync.products import Owner, PaymentClaim
from xendit_sync.products._base import CUSTOMER_KEY, INVOICE_KEY

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
        currency=_currency(invoice.currency, f"Xendit invoice {invoice.id}"),
        amount=invoice.paid_amount,
        invoice_amount=invoice.amount,
        fees=Decimal(fees),
        method=invoice.payment_method,
        channel=invoice.payment_channel,
        paid_at=invoice.paid_at,
        after_expiry=invoice.paid_at > invoice.expiry_date,
    )


def invoice_payment_id(invoice: Invoice) -> str:
    """The identity of an invoice's payment: the underlying payment's id, which other products'
    callbacks (a fixed VA, an e-wallet charge) carry too; the invoice id only when Xendit gives none."""
    return invoice.payment_id or invoice.credit_card_charge_id or invoice.id


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


# --- other Xendit products (their confirmation: ``xendit_sync.products``) ------------------------


def claimed_payment_event(claim: PaymentClaim, owner: Owner) -> PaymentSucceeded:
    """The payment a product's API confirmed, booked to the owner found for it."""
    where = f"{claim.source} payment {claim.payment_id}"
    if owner.currency is not None and owner.currency != claim.currency:
        raise PermanentError(
            f"{where} is in {claim.currency} but Lovia invoice {owner.invoice_id} is in {owner.currency}"
        )
    return PaymentSucceeded.create(
        customer_id=owner.customer_id,
        invoice_id=owner.invoice_id,
        xendit_invoice_id=claim.object_id,
        payment_id=claim.payment_id,
        source=claim.source,
        currency=_currency(claim.currency, where),
        amount=claim.amount,
        invoice_amount=owner.invoice_amount,
        method=claim.method,
        channel=claim.channel,
        paid_at=claim.paid_at,
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
