"""One module per Xendit product we take callbacks for; each confirms a callback with its own API.

``PAYMENT_PRODUCTS`` maps a product to its ``confirm(xendit, callback) -> PaymentClaim``. Refunds
(``refund.confirm``) and invoices (``xendit_sync.mapping``, whose callbacks have their own event
types) are handled beside them in ``xendit_sync.handlers``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from lovia_billing import XenditCallback, XenditProduct
from lovia_billing.clients.xendit import XenditClient
from xendit_sync.products import ewallet, fva, payment_request, recurring
from xendit_sync.products._base import Owner, OwnerHint, PaymentClaim

Confirm = Callable[[XenditClient, XenditCallback], Awaitable[PaymentClaim]]

PAYMENT_PRODUCTS: dict[XenditProduct, Confirm] = {
    XenditProduct.PAYMENT_REQUEST: payment_request.confirm,
    XenditProduct.RECURRING: recurring.confirm,
    XenditProduct.FVA: fva.confirm,
    XenditProduct.EWALLET: ewallet.confirm,
}

__all__ = ["PAYMENT_PRODUCTS", "Confirm", "Owner", "OwnerHint", "PaymentClaim"]
