"""Pure translation between our events and Xendit's objects: no I/O here.

* ``invoice.requested`` → the create request (``external_id`` = our invoice id; ``metadata`` and
  ``customer.customer_id`` carry our ids, so follow-ups take them from Xendit's copy).
* a callback is checked against the invoice fetched from Xendit's API (``confirmation_problems``).
* a confirmed invoice → ``PaymentSucceeded`` / ``InvoiceExpired``, built only from the API's copy,
  so PAID and SETTLED callbacks of one invoice yield the very same event.
* other products' payments, once ``xendit_sync.products`` confirmed them, → ``PaymentSucceeded``
  booked to the Lovia invoice Xendit holds for them; confirmed refunds → ``RefundSucceeded``.

The invoice's own payment, expiry and refund events are built in ``lovia_billing.xendit_events``
(re-exported here), which ``billing reconcile`` uses too: one mapping for booking and checking.
"""

from __future__ import annotations

from datetime import datetime

from lovia_billing import (
    InvoiceIssued,
    InvoiceRequested,
    PaymentSucceeded,
    PermanentError,
    XenditInvoiceExpired,
    XenditInvoicePaid,
)
from lovia_billing.clients.xendit import (
    PAID_STATUSES,
    CreateInvoiceRequest,
    Invoice,
    InvoiceCustomer,
    InvoiceItem,
)
from lovia_billing.xendit_events import (
    CUSTOMER_KEY,
    INVOICE_KEY,
    PLAN_KEY,
    SUBSCRIPTION_KEY,
    bookable_currency,
    expired_event,
    invoice_payment_id,
    owner,
    payment_event,
    refund_event,
)
from xendit_sync.products import Owner, PaymentClaim

__all__ = [
    "PLAN_KEY",
    "SUBSCRIPTION_KEY",
    "InvoiceCallback",
    "belongs_to_subscription",
    "check_same_invoice",
    "claimed_payment_event",
    "confirmation_problems",
    "create_request",
    "expired_event",
    "invoice_payment_id",
    "issued_event",
    "owner",
    "payment_event",
    "pick_existing",
    "refund_event",
]

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
        currency=bookable_currency(claim.currency, where),
        amount=claim.amount,
        invoice_amount=owner.invoice_amount,
        method=claim.method,
        channel=claim.channel,
        paid_at=claim.paid_at,
    )
