"""Fixed virtual accounts: ``fva_paid`` confirmed by the FVA payment; its ``payment_id`` is the payment.

``fva_paid`` has no metadata: the owner is found from the FVA's ``external_id`` (an FVA opened for
one of our invoices carries its id) or, for a customer's FVA bound to an invoice, from the paid
invoice whose ``payment_id`` is this payment (see ``xendit_sync.owners``).
"""

from __future__ import annotations

from lovia_billing import XenditCallback, XenditProduct
from lovia_billing.clients.xendit import FvaPayment, XenditClient
from xendit_sync.products._base import (
    OwnerHint,
    PaymentClaim,
    Problems,
    claimed_amount,
    not_found,
    payload_data,
)


def problems(callback: XenditCallback, payment: FvaPayment) -> Problems:
    data = payload_data(callback)
    found = Problems()
    found.differs("amount", payment.amount, claimed_amount(data.get("amount")))
    found.differs("currency", payment.currency, data.get("currency"))
    found.differs("external_id", payment.external_id, data.get("external_id"))
    found.differs(
        "callback_virtual_account_id",
        payment.callback_virtual_account_id,
        data.get("callback_virtual_account_id"),
    )
    return found


def claim(payment: FvaPayment) -> PaymentClaim:
    return PaymentClaim(
        source=XenditProduct.FVA,
        payment_id=payment.payment_id,
        object_id=payment.callback_virtual_account_id,
        currency=payment.currency,
        amount=payment.amount,
        paid_at=payment.transaction_timestamp,
        method="BANK_TRANSFER",
        channel=payment.bank_code,
        owner=OwnerHint(customer_id=None, invoice_id=payment.external_id),
    )


async def confirm(xendit: XenditClient, callback: XenditCallback) -> PaymentClaim:
    what = f"fixed VA payment {callback.object_id}"
    payment = await xendit.get_fva_payment(callback.object_id)
    if payment is None:
        raise not_found(what)
    problems(callback, payment).raise_if_any(what)
    return claim(payment)
