"""One handler per event type; each is safe to run any number of times.

Every write is looked up first by the external id in its unique custom field; a lost answer or a
unique conflict is settled by re-reading (``ErpnextClient.insert_once``). A draft left behind by an
earlier crash is submitted, not duplicated.

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
            # customer.upserted comes first in the same message group; it has not landed yet.
            raise RetryableError(f"ERPNext has no Customer for {event.customer_id} yet")
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
