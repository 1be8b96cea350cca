"""One handler per event type; each is safe to run any number of times.

Every write is looked up first by the external id in its unique custom field; a lost answer or a
unique conflict is settled by re-reading (``ErpnextClient.insert_once``). A draft left behind by an
earlier crash is submitted, not duplicated.

An invoice whose customer has not arrived yet is booked for a stand-in Customer made from the
invoice (the payer's e-mail), which ``customer.upserted`` completes later: the two events may come
in either order. A refund is a credit note against the invoice plus a ``Pay`` entry from the Xendit
account that pays it out; it waits (retryable) until the invoice and the refunded payment are booked.

``invoice.expired`` and ``subscription.cancelled`` change no amounts: the receivable stays open
(Unpaid, then Overdue after its due date) and the invoice gets a comment saying what happened.
A payment that arrives later (``after_expiry``) is still booked against it, and crediting or writing
off an unpaid invoice stays the accountant's decision (see docs/erpnext.md).
"""

from __future__ import annotations

from collections.abc import Mapping

from erpnext_sync import mapping
from erpnext_sync.settings import ErpnextSyncSettings
from lovia_billing import (
    CustomerUpserted,
    EventType,
    InvoiceExpired,
    InvoiceIssued,
    PaymentSucceeded,
    PermanentError,
    RefundSucceeded,
    RetryableError,
    SubscriptionCancelled,
)
from lovia_billing.clients.erpnext import ErpnextClient, SalesInvoice
from lovia_billing.consumer import Handler, HandlerContext


class ErpnextHandlers:
    """The handlers of one ERPNext site, sharing one client."""

    def __init__(self, client: ErpnextClient, settings: ErpnextSyncSettings) -> None:
        self.client = client
        self.settings = settings

    def table(self) -> Mapping[EventType, Handler]:
        return {
            EventType.CUSTOMER_UPSERTED: self.on_customer_upserted,
            EventType.INVOICE_ISSUED: self.on_invoice_issued,
            EventType.PAYMENT_SUCCEEDED: self.on_payment_succeeded,
            EventType.INVOICE_EXPIRED: self.on_invoice_expired,
            EventType.SUBSCRIPTION_CANCELLED: self.on_subscription_cancelled,
            EventType.REFUND_SUCCEEDED: self.on_refund_succeeded,
        }

    async def on_customer_upserted(self, event: CustomerUpserted, ctx: HandlerContext) -> None:
        wanted = mapping.customer_document(event, self.settings)
        current = await self.client.find_customer(event.customer_id)
        if current is None:
            created = await self.client.create_customer(wanted)
            ctx.logger.info("ERPNext Customer created", extra={"erpnext_name": created.name})
            return
        changes = mapping.customer_changes(current, wanted)
        if changes:
            await self.client.update_customer(str(current.name), changes)
            ctx.logger.info("ERPNext Customer updated", extra={"erpnext_name": current.name})

    async def on_invoice_issued(self, event: InvoiceIssued, ctx: HandlerContext) -> None:
        customer = await self.client.find_customer(event.customer_id)
        if customer is None:
            # Lovia's backends may send the invoice before the customer: book it for a stand-in
            # that customer.upserted completes, rather than hold the invoice (and its payment) back.
            stand_in = mapping.customer_from_invoice(event, self.settings)
            customer = await self.client.create_customer(stand_in)
            ctx.logger.info("ERPNext stand-in Customer created", extra={"erpnext_name": customer.name})
        invoice = await self.client.find_sales_invoice(event.invoice_id)
        if invoice is None:
            document = mapping.sales_invoice_document(event, str(customer.name), self.settings)
            invoice = await self.client.create_sales_invoice(document)
        if invoice.is_draft:  # left by an earlier attempt that stopped between insert and submit
            invoice = await self.client.submit_sales_invoice(str(invoice.name))
        if invoice.is_cancelled:
            ctx.logger.warning(
                "ERPNext Sales Invoice was cancelled there; left as is", extra={"name": invoice.name}
            )
            return
        if invoice.grand_total is not None and invoice.grand_total != event.amount:
            raise PermanentError(
                f"ERPNext Sales Invoice {invoice.name} totals {invoice.grand_total}, "
                f"the event says {event.amount} {event.currency} (taxes or prices added in ERPNext?)"
            )
        ctx.logger.info("ERPNext Sales Invoice submitted", extra={"erpnext_name": invoice.name})

    async def on_payment_succeeded(self, event: PaymentSucceeded, ctx: HandlerContext) -> None:
        entry = await self.client.find_payment_entry(event.payment_id)
        if entry is None:
            invoice = await self._invoice_for(event.invoice_id)
            if invoice.is_draft:
                raise RetryableError(f"ERPNext Sales Invoice {invoice.name} is still a draft")
            if invoice.currency and invoice.currency != event.currency:
                raise PermanentError(
                    f"payment {event.payment_id} is in {event.currency}, "
                    f"Sales Invoice {invoice.name} in {invoice.currency}"
                )
            document = mapping.payment_entry_document(event, invoice, self.settings)
            entry = await self.client.create_payment_entry(document)
        if entry.is_draft:
            entry = await self.client.submit_payment_entry(str(entry.name))
        ctx.logger.info("ERPNext Payment Entry submitted", extra={"erpnext_name": entry.name})

    async def on_refund_succeeded(self, event: RefundSucceeded, ctx: HandlerContext) -> None:
        """A credit note against the invoice, then the ``Pay`` entry that settles it; each found by
        the refund id on redelivery. Neither the invoice nor its payment entries are touched."""
        entry = await self.client.find_refund_entry(event.refund_id)
        if entry is None:
            credit_note = await self._credit_note_for(event, ctx)
            if credit_note is None:
                return
            document = mapping.refund_entry_document(event, credit_note, self.settings)
            entry = await self.client.create_refund_entry(document)
        if entry.is_draft:
            entry = await self.client.submit_payment_entry(str(entry.name))
        ctx.logger.info("ERPNext refund Payment Entry submitted", extra={"erpnext_name": entry.name})

    async def _credit_note_for(self, event: RefundSucceeded, ctx: HandlerContext) -> SalesInvoice | None:
        """The submitted credit note of this refund, created if needed; None if someone cancelled it."""
        found = await self.client.find_credit_note(event.refund_id)
        if found is None:
            invoice = await self._refundable_invoice(event)
            earlier = await self.client.credit_notes_against(str(invoice.name))
            returned = mapping.returned_quantities(invoice, earlier)
            document = mapping.credit_note_document(event, invoice, self.settings, returned)
            found = await self.client.create_credit_note(document)
        if found.is_draft:
            found = await self.client.submit_sales_invoice(str(found.name))
        if found.is_cancelled:
            ctx.logger.warning(
                "ERPNext credit note was cancelled there; refund left unbooked", extra={"name": found.name}
            )
            return None
        # The list row holds no child tables and the insert answer may be stale: read it whole.
        return await self.client.get_sales_invoice(str(found.name))

    async def _refundable_invoice(self, event: RefundSucceeded) -> SalesInvoice:
        """The submitted invoice whose booked payment is refunded, read whole (with its rows)."""
        invoice = await self._invoice_for(event.invoice_id)
        if invoice.is_draft:
            raise RetryableError(f"ERPNext Sales Invoice {invoice.name} is still a draft")
        if invoice.is_cancelled:
            raise PermanentError(
                f"refund {event.refund_id}: ERPNext Sales Invoice {invoice.name} is cancelled, "
                "a credit note cannot return it"
            )
        if invoice.currency and invoice.currency != event.currency:
            raise PermanentError(
                f"refund {event.refund_id} is in {event.currency}, "
                f"Sales Invoice {invoice.name} in {invoice.currency}"
            )
        if await self.client.find_payment_entry(event.payment_id) is None:
            # payment.succeeded comes first in the same group; after a redrive it may still be on its
            # way. Money is not booked as going out before ERPNext has it coming in.
            raise RetryableError(
                f"ERPNext has no Payment Entry for payment {event.payment_id} (refund {event.refund_id}) yet"
            )
        return await self.client.get_sales_invoice(str(invoice.name))

    async def on_invoice_expired(self, event: InvoiceExpired, ctx: HandlerContext) -> None:
        invoice = await self._invoice_for(event.invoice_id)
        if not invoice.is_submitted or not invoice.outstanding_amount:
            ctx.logger.info("Sales Invoice not open; nothing to note", extra={"erpnext_name": invoice.name})
            return
        expired = mapping.local(event.expired_at, self.settings).strftime("%Y-%m-%d %H:%M")
        await self.client.comment_once(
            SalesInvoice.DOCTYPE,
            str(invoice.name),
            f"Xendit invoice {event.xendit_invoice_id} expired unpaid on {expired}; its payment link no "
            f"longer works. The amount stays outstanding until it is paid or credited. "
            f"{mapping.marker(event.event_id)}",
            marker=mapping.marker(event.event_id),
        )

    async def on_subscription_cancelled(self, event: SubscriptionCancelled, ctx: HandlerContext) -> None:
        invoices = await self.client.sales_invoices_of_subscription(event.subscription_id)
        open_invoices = [inv for inv in invoices if inv.is_submitted and inv.outstanding_amount]
        cancelled = mapping.local(event.cancelled_at, self.settings).strftime("%Y-%m-%d %H:%M")
        reason = f" Reason: {event.reason}." if event.reason else ""
        for invoice in open_invoices:
            await self.client.comment_once(
                SalesInvoice.DOCTYPE,
                str(invoice.name),
                f"Subscription {event.subscription_id} was cancelled on {cancelled} while this invoice "
                f"was unpaid.{reason} Decide whether to credit or write off the outstanding amount. "
                f"{mapping.marker(event.event_id)}",
                marker=mapping.marker(event.event_id),
            )
        ctx.logger.info(
            "open invoices of the cancelled subscription noted", extra={"count": len(open_invoices)}
        )

    async def _invoice_for(self, invoice_id: str) -> SalesInvoice:
        invoice = await self.client.find_sales_invoice(invoice_id)
        if invoice is None:
            # invoice.issued comes first in the same message group; it has not landed yet.
            raise RetryableError(f"ERPNext has no Sales Invoice for {invoice_id} yet")
        return invoice
