"""Whose payment is it? The Lovia invoice Xendit holds for it, found through Xendit's own API.

A payment is booked only to a Lovia invoice that xendit_sync created at Xendit (``external_id`` =
our invoice id, metadata naming our customer): a payment naming an invoice we never requested, or
naming another customer than the invoice's, books nothing and says why.
"""

from __future__ import annotations

from lovia_billing import ConfirmationMismatch, PaymentSucceeded, PermanentError, XenditProduct
from lovia_billing.clients.xendit import Invoice, XenditClient
from xendit_sync import mapping
from xendit_sync.products import Owner, PaymentClaim
from xendit_sync.products._base import INVOICE_KEY

#: How many recent paid invoices are searched for the one a fixed-VA payment paid.
BOUND_INVOICE_SEARCH = 100


class Owners:
    def __init__(self, xendit: XenditClient) -> None:
        self.xendit = xendit

    async def payment_event(self, claim: PaymentClaim) -> PaymentSucceeded:
        """The ``payment.succeeded`` of a confirmed claim, booked to its Lovia invoice.

        When the claim is the very payment of that invoice at Xendit (the invoice's ``payment_id``,
        e.g. a fixed VA bound to the invoice), it is booked from the invoice exactly as the
        invoice's own callback books it, so both reports are one event with one body.
        """
        what = f"{claim.source} payment {claim.payment_id}"
        invoice = None
        if claim.owner.invoice_id:
            invoice = mapping.pick_existing(
                await self.xendit.find_invoices(external_id=claim.owner.invoice_id)
            )
        if invoice is None and claim.source is XenditProduct.FVA:
            invoice = await self._invoice_paid_by(claim.payment_id)
        if invoice is None:
            raise PermanentError(
                f"{what} names no invoice Lovia requested at Xendit (metadata.{INVOICE_KEY} or "
                f"reference_id {claim.owner.invoice_id!r}); nothing booked"
            )
        if invoice.is_paid and mapping.invoice_payment_id(invoice) == claim.payment_id:
            return mapping.payment_event(invoice)
        return mapping.claimed_payment_event(claim, self._owner(claim, invoice))

    @staticmethod
    def _owner(claim: PaymentClaim, invoice: Invoice) -> Owner:
        customer_id, invoice_id = mapping.owner(invoice)
        if claim.owner.customer_id is not None and claim.owner.customer_id != customer_id:
            raise ConfirmationMismatch(
                f"{claim.source} payment {claim.payment_id} names customer {claim.owner.customer_id}, "
                f"but Lovia invoice {invoice_id} belongs to {customer_id}; nothing booked"
            )
        return Owner(customer_id, invoice_id, invoice.amount, invoice.currency)

    async def _invoice_paid_by(self, payment_id: str) -> Invoice | None:
        paid = await self.xendit.find_invoices(
            statuses=["PAID", "SETTLED"], page_size=BOUND_INVOICE_SEARCH, max_pages=1
        )
        return next((invoice for invoice in paid if invoice.payment_id == payment_id), None)
