"""From our events to ERPNext documents. Pure: no I/O, so every rule here is tested directly.

Dates are the site's local dates (``ERPNEXT_TIME_ZONE``): an invoice issued at 23:30 UTC is booked
the next day in Jakarta, as an accountant there would see it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime, time, timedelta
from decimal import ROUND_CEILING, Decimal
from zoneinfo import ZoneInfo

from erpnext_sync.settings import ErpnextSyncSettings
from lovia_billing import CustomerUpserted, InvoiceIssued, PaymentSucceeded, RefundSucceeded
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


def customer_from_invoice(event: InvoiceIssued, settings: ErpnextSyncSettings) -> Customer:
    """A stand-in when the invoice arrives before its customer: the payer, named by their e-mail.

    Found by our customer id like any Customer, so the later ``customer.upserted`` completes it
    (name and type) through ``customer_changes`` instead of creating a second one.
    """
    return Customer(
        customer_name=event.payer_email,
        customer_type="Individual",
        customer_group=settings.erpnext_customer_group,
        territory=settings.erpnext_territory,
        email_id=event.payer_email,
        custom_lovia_customer_id=event.customer_id,
    )


def customer_changes(current: Customer, wanted: Customer) -> dict[str, str]:
    """The fields to update on an existing Customer (also a stand-in made from an invoice).

    E-mail and phone are not among them: ERPNext keeps them on the primary Contact, which it
    creates from ``email_id``/``mobile_no`` on insert only. The document's ``name`` stays what it
    was first called (ERPNext names never change on update); ``customer_name`` is what people see.
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


CENT = Decimal("0.01")


def returned_quantities(invoice: SalesInvoice, credit_notes: Sequence[SalesInvoice]) -> dict[str, Decimal]:
    """Units of each original row already returned by submitted credit notes, by row name.

    A credit note row names its original row (``sales_invoice_item``); one that does not (made by
    hand the old way) counts against the first row of its item, as ERPNext then counts by item.
    """
    first_row = {row.item_code: row.name for row in reversed(invoice.items) if row.name}
    returned: dict[str, Decimal] = {}
    for note in credit_notes:
        if not note.is_submitted:
            continue
        for row in note.items:
            key = row.sales_invoice_item or first_row.get(row.item_code)
            if key and row.qty < 0:
                returned[key] = returned.get(key, Decimal(0)) - row.qty
    return returned


def refund_lines(
    amount: Decimal, invoice: SalesInvoice, description: str, returned: Mapping[str, Decimal]
) -> list[SalesInvoiceItem] | None:
    """The credit note's rows against the invoice, negative quantities as ERPNext's returns have.

    A refund of the whole, not yet returned invoice returns every row as it was
    (``make_sales_return``). A partial refund is one row: an original row with units left to
    return, the refunded amount spread over as few of them as keep the rate within the original's
    and exact to the cent; rows with the highest rate are tried first. ERPNext refuses more units
    than invoiced or a higher rate, so ``None`` when no row can take the refund (e.g. a second
    partial refund of a single-unit line): the caller then books a standalone credit note.
    """
    rows = [row for row in invoice.items if row.qty > 0]
    if amount == invoice.grand_total and not any(returned.values()):
        return [
            SalesInvoiceItem(
                item_code=row.item_code,
                qty=-row.qty,
                rate=row.rate,
                description=row.description,
                sales_invoice_item=row.name,
            )
            for row in rows
        ]
    for row in sorted(rows, key=lambda candidate: candidate.rate, reverse=True):
        left = int(row.qty - returned.get(row.name or "", Decimal(0)))
        for units in range(1, left + 1):
            rate = (amount / units).quantize(CENT)
            if rate <= row.rate and rate * units == amount:
                return [
                    SalesInvoiceItem(
                        item_code=row.item_code,
                        qty=Decimal(-units),
                        rate=rate,
                        description=description,
                        sales_invoice_item=row.name,
                    )
                ]
    return None


def _posted_at(invoice: SalesInvoice) -> datetime | None:
    """The invoice's posting moment; Frappe sends a time as ``1:30:00`` or ``01:30:00.000000``."""
    if invoice.posting_date is None:
        return None
    hours, minutes, seconds = (invoice.posting_time or "0:0:0").split(":")
    # Whole seconds, rounded up: a return is then never posted a fraction before its original.
    whole_seconds = int(Decimal(seconds).to_integral_value(rounding=ROUND_CEILING))
    start = datetime.combine(invoice.posting_date, time(int(hours), int(minutes)))
    return start + timedelta(seconds=whole_seconds)


def credit_note_document(
    event: RefundSucceeded,
    invoice: SalesInvoice,
    settings: ErpnextSyncSettings,
    returned: Mapping[str, Decimal] | None = None,
) -> SalesInvoice:
    """A return against the original invoice for the refunded amount, submitted on insert.

    ``update_outstanding_for_self: 1`` keeps the credit's negative outstanding on the credit note
    itself, where the refund's ``Pay`` entry settles it: the original invoice and its payments stay
    exactly as booked (ERPNext then shows it as *Credit Note Issued*). The posting time is the
    refund's, but never before the original's (ERPNext refuses a return posted before it).
    ``returned``: units of the original's rows earlier credit notes returned (``returned_quantities``).

    When no row of the original can take the refund (``refund_lines``), the credit note is
    standalone: no ``return_against`` (ERPNext checks no rows then), one row of the refunded amount,
    the original named in its remarks.
    """
    refunded = local(event.refunded_at, settings).replace(tzinfo=None, microsecond=0)
    original = _posted_at(invoice)
    posted = max(refunded, original) if original else refunded
    reason = f" ({event.reason})" if event.reason else ""
    what = f"Refund {event.refund_id} of Xendit payment {event.payment_id}{reason}"
    lines = refund_lines(event.amount, invoice, what, returned or {})
    against: str | None = invoice.name
    if lines is None:
        top = max(invoice.items, key=lambda row: row.rate)
        lines = [
            SalesInvoiceItem(item_code=top.item_code, qty=Decimal(-1), rate=event.amount, description=what)
        ]
        against = None
    return SalesInvoice(
        customer=invoice.customer,
        company=settings.erpnext_company,
        currency=invoice.currency or event.currency,
        posting_date=posted.date(),
        posting_time=posted.strftime("%H:%M:%S"),
        set_posting_time=1,
        due_date=posted.date(),
        disable_rounded_total=1,
        is_return=1,
        return_against=against,
        update_outstanding_for_self=1,
        remarks=f"{what} for Lovia invoice {event.invoice_id} (Sales Invoice {invoice.name})",
        items=lines,
        custom_xendit_invoice_id=event.xendit_invoice_id,
        custom_xendit_refund_id=event.refund_id,
        docstatus=1,
    )


def refund_allocation(event: RefundSucceeded, credit_note: SalesInvoice) -> Decimal:
    """How much of the credit note the refund pays out: negative, at most its outstanding credit."""
    credit = -(credit_note.outstanding_amount or Decimal(0))
    if not credit_note.is_submitted or credit <= 0:
        return Decimal(0)
    return -min(event.amount, credit)


def refund_entry_document(
    event: RefundSucceeded, credit_note: SalesInvoice, settings: ErpnextSyncSettings
) -> PaymentEntry:
    """A ``Pay`` entry: the refunded amount out of the Xendit bank account to the customer,
    allocated (negatively) against the credit note, as ERPNext's own ``get_payment_entry`` does."""
    refunded_on: date = local(event.refunded_at, settings).date()
    allocated = refund_allocation(event, credit_note)
    return PaymentEntry(
        payment_type="Pay",
        company=settings.erpnext_company,
        posting_date=refunded_on,
        mode_of_payment=settings.erpnext_mode_of_payment,
        party_type="Customer",
        party=credit_note.customer,
        paid_from=settings.erpnext_paid_to_account,
        paid_to=credit_note.debit_to,
        paid_amount=event.amount,
        received_amount=event.amount,
        reference_no=event.refund_id,
        reference_date=refunded_on,
        remarks=f"Xendit refund {event.refund_id} of payment {event.payment_id} "
        f"for Lovia invoice {event.invoice_id}",
        references=(
            [PaymentEntryReference(reference_name=str(credit_note.name), allocated_amount=allocated)]
            if allocated
            else []
        ),
        custom_xendit_refund_id=event.refund_id,
        docstatus=1,
    )


def marker(event_id: str) -> str:
    """Tags a comment with the event that wrote it, so a redelivery finds it instead of adding another."""
    return f"[lovia-billing {event_id}]"
