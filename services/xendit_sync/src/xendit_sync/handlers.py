"""xendit_sync's handlers: what each event on the xendit queue does at Xendit, and what follows.

Every handler is safe to run twice (the runtime may redeliver): invoices are looked up by
``external_id`` before one is created, and published events carry ids derived from natural keys.
"""

from __future__ import annotations

from lovia_billing import (
    ConfirmationMismatch,
    EventType,
    InvoiceRequested,
    PermanentError,
    SubscriptionCancelled,
    XenditCallback,
)
from lovia_billing.clients.xendit import PAID_STATUSES, XenditClient
from lovia_billing.consumer import Handler, HandlerContext
from xendit_sync import mapping
from xendit_sync.settings import XenditSyncSettings


class XenditHandlers:
    """The handlers of the xendit queue, sharing one Xendit client."""

    def __init__(self, xendit: XenditClient, settings: XenditSyncSettings) -> None:
        self.xendit = xendit
        self.settings = settings

    def table(self) -> dict[EventType, Handler]:
        return {
            EventType.INVOICE_REQUESTED: self.on_invoice_requested,
            EventType.XENDIT_INVOICE_PAID: self.on_invoice_callback,
            EventType.XENDIT_INVOICE_EXPIRED: self.on_invoice_callback,
            EventType.SUBSCRIPTION_CANCELLED: self.on_subscription_cancelled,
            EventType.XENDIT_CALLBACK: self.on_product_callback,
        }

    async def on_invoice_requested(self, event: InvoiceRequested, ctx: HandlerContext) -> None:
        """Exactly one Xendit invoice per invoice id, then ``invoice.issued``.

        Xendit accepts a duplicate ``external_id`` (ref §4) and an earlier attempt may have created
        the invoice before failing (timeout, 5xx, crash): so every attempt looks up first.
        """
        existing = mapping.pick_existing(await self.xendit.find_invoices(external_id=event.invoice_id))
        if existing is not None:
            mapping.check_same_invoice(event, existing)
            invoice = existing
        else:
            request = mapping.create_request(event, self.settings.xendit_invoice_duration_seconds)
            invoice = await self.xendit.create_invoice(request)
        ctx.logger.info(
            "xendit invoice ready",
            extra={
                "event_id": event.event_id,
                "invoice_id": event.invoice_id,
                "xendit_invoice_id": invoice.id,
                "newly_created": existing is None,
            },
        )
        await ctx.publish(mapping.issued_event(event, invoice))

    async def on_invoice_callback(self, event: mapping.InvoiceCallback, ctx: HandlerContext) -> None:
        """Confirm a PAID/SETTLED/EXPIRED callback with Xendit's API, then book what the API says."""
        invoice = await self.xendit.get_invoice(event.xendit_invoice_id)
        if invoice is None:
            raise ConfirmationMismatch(
                f"{event.status} callback for {event.xendit_invoice_id}: Xendit has no such invoice"
            )
        problems = mapping.confirmation_problems(event, invoice)
        if problems:
            raise ConfirmationMismatch(
                f"Xendit invoice {invoice.id}: {event.status} callback not confirmed: {'; '.join(problems)}"
            )
        if invoice.status in PAID_STATUSES:
            # PAID, SETTLED, or an EXPIRED callback overtaken by a late payment: the payment is what counts.
            if event.status == "EXPIRED":
                ctx.logger.info("expiry superseded by a payment", extra={"xendit_invoice_id": invoice.id})
                return
            await ctx.publish(mapping.payment_event(invoice))
        else:
            await ctx.publish(mapping.expired_event(invoice))

    async def on_subscription_cancelled(self, event: SubscriptionCancelled, ctx: HandlerContext) -> None:
        """Expire the customer's open invoices of that subscription, and say so (``invoice.expired``).

        Xendit's list cannot filter on metadata, so PENDING invoices are listed and filtered here.
        """
        pending = await self.xendit.find_invoices(
            statuses=["PENDING"], page_size=self.settings.xendit_list_page_size
        )
        for invoice in pending:
            if not mapping.belongs_to_subscription(invoice, event.customer_id, event.subscription_id):
                continue
            try:
                expired = await self.xendit.expire_invoice(invoice.id)
            except PermanentError:
                current = await self.xendit.get_invoice(invoice.id)
                if current is not None and current.status != "PENDING":
                    continue  # paid or expired meanwhile: nothing left to cancel
                raise
            ctx.logger.info("expired on cancellation", extra={"xendit_invoice_id": invoice.id})
            if expired.status == "EXPIRED":
                await ctx.publish(mapping.expired_event(expired))

    async def on_product_callback(self, event: XenditCallback, ctx: HandlerContext) -> None:  # noqa: ARG002
        # Work in progress: per-product confirmation lands in the next commit; until then
        # nothing is booked from an unconfirmed callback.
        raise PermanentError(f"{event.product} callbacks are not confirmed yet; nothing booked")
