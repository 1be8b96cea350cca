"""From our events to ERPNext documents. Pure: no I/O, so every rule here is tested directly.

Dates are the site's local dates (``ERPNEXT_TIME_ZONE``): an invoice issued at 23:30 UTC is booked
the next day in Jakarta, as an accountant there would see it.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from erpnext_sync.settings import ErpnextSyncSettings
from lovia_billing import CustomerUpserted, InvoiceIssued, PaymentSucceeded
from lovia_billing.clients.erpnext import (
    Customer,
    PaymentEntry,
    PaymentEntryDeduction,
    PaymentEntryReference,
    SalesInvoice,
    SalesInvoiceItem,
)


def local(moment: datetime, settings: ErpnextSyncSettings) -> datetime:
    return moment.astimezone(ZoneInfo(settings.erpnext_time_zone))


def customer_document(event: CustomerUpserted, settings: ErpnextSyncSettings) -> Customer:
    """A company customer is named after the company, a person after themselves."""
    return Customer(
        customer_name=event.company or event.name,
        customer_type="Company" if event.company else "Individual",
        customer_group=settings.erpnext_customer_group,
        territory=settings.erpnext_territory,
        email_id=event.email,
        mobile_no=event.phone,
        custom_lovia_customer_id=event.customer_id,
    )


def customer_changes(current: Customer, wanted: Customer) -> dict[str, str]:
    """The fields to update on an existing Customer.

    E-mail and phone are not among them: ERPNext keeps them on the primary Contact, which it
    creates from ``email_id``/``mobile_no`` on insert only.
    """
    changes: dict[str, str] = {}
    if current.customer_name != wanted.customer_name:
        changes["customer_name"] = wanted.customer_name
    if current.customer_type != wanted.customer_type:
        changes["customer_type"] = wanted.customer_type
    return changes


def sales_invoice_document(
    event: InvoiceIssued, customer: str, settings: ErpnextSyncSettings
) -> SalesInvoice:
    """The invoice as issued: our lines and prices, our dates, submitted on insert.

    ``disable_rounded_total`` keeps ERPNext from rounding the total to a whole unit (it would
    otherwise leave USD 9.99 owing 10.00 and a payment of 9.99 short by a cent).
    """
    issued = local(event.issued_at, settings)
    due = event.due_date or local(event.expires_at, settings).date()
    remarks = event.description
    if event.period is not None:
        remarks += f" (service period {event.period.start} to {event.period.end})"
    return SalesInvoice(
        customer=customer,
        company=settings.erpnext_company,
        currency=event.currency,
        posting_date=issued.date(),
        posting_time=issued.strftime("%H:%M:%S"),
        set_posting_time=1,
        due_date=max(due, issued.date()),  # ERPNext refuses a due date before the posting date
        disable_rounded_total=1,
        remarks=remarks,
        items=[
            SalesInvoiceItem(
                item_code=line.item_code,
                qty=Decimal(line.quantity),
                rate=line.unit_amount,
                description=line.description,
            )
            for line in event.lines
        ],
        custom_lovia_invoice_id=event.invoice_id,
        custom_lovia_subscription_id=event.subscription_id,
        custom_xendit_invoice_id=event.xendit_invoice_id,
        docstatus=1,
    )


def allocation(event: PaymentSucceeded, invoice: SalesInvoice) -> Decimal:
    """How much of the payment settles the invoice: at most what is still outstanding.

    The rest (a second payment, an overpayment, a payment of a cancelled invoice) stays on the
    Payment Entry as ``unallocated_amount``: an advance from the customer, as ERPNext books it.
    """
    if not invoice.is_submitted:
        return Decimal(0)
    outstanding = invoice.outstanding_amount or Decimal(0)
    return max(Decimal(0), min(event.amount, outstanding))


def payment_entry_document(
    event: PaymentSucceeded, invoice: SalesInvoice, settings: ErpnextSyncSettings
) -> PaymentEntry:
    """A Receive entry: the net amount into the Xendit bank account, Xendit's fee as a deduction,
    the gross amount allocated to the invoice (up to its outstanding)."""
    paid_on: date = local(event.paid_at, settings).date()
    fees = min(event.fees, event.amount)
    net = event.amount - fees
    allocated = allocation(event, invoice)
    how = " / ".join(part for part in (event.method, event.channel) if part)
    remarks = f"Xendit payment {event.payment_id} of Xendit invoice {event.xendit_invoice_id}"
    remarks += f" for Lovia invoice {event.invoice_id}" + (f", via {how}" if how else "")
    if event.after_expiry:
        remarks += ", paid after the Xendit invoice had expired"
    return PaymentEntry(
        payment_type="Receive",
        company=settings.erpnext_company,
        posting_date=paid_on,
        mode_of_payment=settings.erpnext_mode_of_payment,
        party_type="Customer",
        party=invoice.customer,
        paid_to=settings.erpnext_paid_to_account,
        paid_amount=net,
        received_amount=net,
        reference_no=event.payment_id,
        reference_date=paid_on,
        remarks=remarks,
        references=(
            [PaymentEntryReference(reference_name=str(invoice.name), allocated_amount=allocated)]
            if allocated > 0
            else []
        ),
        deductions=(
            [
                PaymentEntryDeduction(
                    account=settings.erpnext_fee_account,
                    cost_center=settings.erpnext_cost_center,
                    amount=fees,
                    description=f"Xendit fee for payment {event.payment_id}",
                )
            ]
            if fees > 0
            else []
        ),
        custom_xendit_payment_id=event.payment_id,
        docstatus=1,
    )


def marker(event_id: str) -> str:
    """Tags a comment with the event that wrote it, so a redelivery finds it instead of adding another."""
    return f"[lovia-billing {event_id}]"
