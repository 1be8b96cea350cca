"""Refunds: ``refund.succeeded`` confirmed by the refund, and its payment by that payment's own product.

A refund names what it refunds: ``invoice_id`` (an invoice payment) or ``payment_request_id``
(a Payments API payment). The refunded payment is confirmed again through its product, so the
books get the payment before its refund even when Xendit delivered the refund first.
"""

from __future__ import annotations

from lovia_billing import XenditCallback
from lovia_billing.clients.xendit import Refund, XenditClient
from xendit_sync.products._base import Problems, claimed_amount, not_found, payload_data


def problems(callback: XenditCallback, refund: Refund) -> Problems:
    data = payload_data(callback)
    found = Problems()
    found.require(refund.status == "SUCCEEDED", f"refund {refund.id} is {refund.status} at Xendit")
    found.differs("amount", refund.amount, claimed_amount(data.get("amount")))
    found.differs("currency", refund.currency, data.get("currency"))
    found.differs("invoice_id", refund.invoice_id, data.get("invoice_id"))
    found.differs("payment_request_id", refund.payment_request_id, data.get("payment_request_id"))
    found.require(
        bool(refund.invoice_id or refund.payment_request_id),
        f"refund {refund.id} names neither an invoice nor a payment request",
    )
    return found


async def confirm(xendit: XenditClient, callback: XenditCallback) -> Refund:
    what = f"refund {callback.object_id}"
    refund = await xendit.get_refund(callback.object_id)
    if refund is None:
        raise not_found(what)
    problems(callback, refund).raise_if_any(what)
    return refund
