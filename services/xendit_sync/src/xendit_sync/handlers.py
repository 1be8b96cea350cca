"""xendit_sync's handlers: what each event on the xendit queue does at Xendit, and what follows.

Every handler is safe to run twice (the runtime may redeliver): invoices are looked up by
``external_id`` before one is created, and published events carry ids derived from natural keys.
Every callback is confirmed with the API of its own product before anything is published, and
what is published is built from the API's copy only (docs/xendit.md, "Confirmation").
"""

from __future__ import annotations

from lovia_billing import (
    ConfirmationMismatch,
    DomainEvent,
    EventType,
    InvoiceRequested,
    PaymentSucceeded,
    PermanentError,
    SubscriptionCancelled,
    XenditCallback,
    XenditProduct,
)
from lovia_billing.clients.xendit import PAID_STATUSES, Refund, XenditClient
from lovia_billing.consumer import Handler, HandlerContext
from lovia_billing.ledger import LedgerConflict
from xendit_sync import mapping
from xendit_sync.owners import Owners
from xendit_sync.products import PAYMENT_PRODUCTS, payment_request, refund
from xendit_sync.settings import XenditSyncSettings


class XenditHandlers:
    """The handlers of the xendit queue, sharing one Xendit client."""

    def __init__(self, xendit: XenditClient, settings: XenditSyncSettings) -> None:
        self.xendit = xendit
        self.settings = settings
        self.owners = Owners(xendit)

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
        await self._publish_once(mapping.issued_event(event, invoice), ctx)

    async def on_invoice_callback(self, event: mapping.InvoiceCallback, ctx: HandlerContext) -> None:
        """Confirm a PAID/SETTLED/EXPIRED callback with Xendit's API, then book what the API says."""
        invoice = await self.xendit.get_invoice(event.xendit_invoice_id)
        if invoice is None:
            raise ConfirmationMismatch(
                f"{event.status} callback for {event.xendit_invoice_id}: Xendit has no such invoice; "
                "nothing booked"
            )
        problems = mapping.confirmation_problems(event, invoice)
        if problems:
            raise ConfirmationMismatch(
                f"Xendit invoice {invoice.id}: {event.status} callback not confirmed by Xendit's API: "
                f"{'; '.join(problems)}; nothing booked"
            )
        if invoice.status in PAID_STATUSES:
            # PAID, SETTLED, or an EXPIRED callback overtaken by a late payment: the payment is what counts.
            if event.status == "EXPIRED":
                ctx.logger.info("expiry superseded by a payment", extra={"xendit_invoice_id": invoice.id})
                return
            await self._publish_once(mapping.payment_event(invoice), ctx)
        else:
            await self._publish_once(mapping.expired_event(invoice), ctx)

    async def on_subscription_cancelled(self, event: SubscriptionCancelled, ctx: HandlerContext) -> None:
        """Expire the customer's open invoices of that subscription, say so (``invoice.expired``),
        then pass the cancellation on to the books (ChartMogul, Mautic, ERPNext).

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
                await self._publish_once(mapping.expired_event(expired), ctx)
        # Passed on only now: in the customer's group the books get it behind every invoice this
        # consumer issued before it (topology.FORWARDS).
        await ctx.publish(event)

    async def on_product_callback(self, event: XenditCallback, ctx: HandlerContext) -> None:
        """Confirm another product's callback with that product's API, then book what the API says."""
        if event.product is XenditProduct.REFUND:
            await self._on_refund(event, ctx)
            return
        confirm = PAYMENT_PRODUCTS.get(event.product)
        if confirm is None:
            raise PermanentError(f"no confirmation for {event.product} callbacks; nothing booked")
        claim = await confirm(self.xendit, event)
        await self._publish_once(await self.owners.payment_event(claim), ctx)

    async def _on_refund(self, event: XenditCallback, ctx: HandlerContext) -> None:
        """The refunded payment first (confirmed again, the same event as its own callback's), then
        the refund: every downstream books a payment before its refund."""
        refund_copy = await refund.confirm(self.xendit, event)
        payment = await self._refunded_payment(refund_copy)
        await self._publish_once(payment, ctx)
        await self._publish_once(mapping.refund_event(refund_copy, payment), ctx)

    async def _refunded_payment(self, refund_copy: Refund) -> PaymentSucceeded:
        what = f"refund {refund_copy.id}"
        if refund_copy.invoice_id:
            invoice = await self.xendit.get_invoice(refund_copy.invoice_id)
            if invoice is None or not invoice.is_paid:
                state = "unknown" if invoice is None else invoice.status
                raise ConfirmationMismatch(
                    f"{what}: its invoice {refund_copy.invoice_id} is {state} at Xendit; nothing booked"
                )
            return mapping.payment_event(invoice)
        request_id = str(refund_copy.payment_request_id)
        request, capture = await payment_request.fetch(self.xendit, request_id, refund_copy.payment_id or "")
        if capture is None:
            raise ConfirmationMismatch(
                f"{what}: payment {refund_copy.payment_id} is not a capture of payment request "
                f"{request_id}; nothing booked"
            )
        return await self.owners.payment_event(payment_request.claim(request, capture))

    @staticmethod
    async def _publish_once(event: DomainEvent, ctx: HandlerContext) -> None:
        """Publish a follow-up event; one already published under its natural key stands.

        The ledger refuses a second body under one event id (``LedgerConflict``): the same payment
        reported by another product (the cycle's view before the payment request's), or an
        ``invoice.issued`` rebuilt after Xendit changed the invoice (expired, paid). The first one
        is on its way, once; this one is left out, and said so.
        """
        try:
            await ctx.publish(event)
        except LedgerConflict:
            ctx.logger.info(
                "already published under this natural key; the first one stands",
                extra={"event_id": event.event_id, "event_type": event.event_type.value},
            )
