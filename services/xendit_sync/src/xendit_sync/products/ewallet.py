"""E-wallet charges: ``ewallet.capture`` (SUCCEEDED) confirmed by the charge; the charge id is the payment."""

from __future__ import annotations

from lovia_billing import XenditCallback, XenditProduct
from lovia_billing.clients.xendit import EwalletCharge, XenditClient
from xendit_sync.products._base import (
    OwnerHint,
    PaymentClaim,
    Problems,
    claimed_amount,
    not_found,
    payload_data,
)


def problems(callback: XenditCallback, charge: EwalletCharge) -> Problems:
    data = payload_data(callback)
    found = Problems()
    found.require(charge.status == "SUCCEEDED", f"e-wallet charge {charge.id} is {charge.status} at Xendit")
    found.differs("capture_amount", charge.capture_amount, claimed_amount(data.get("capture_amount")))
    found.differs("charge_amount", charge.charge_amount, claimed_amount(data.get("charge_amount")))
    found.differs("currency", charge.currency, data.get("currency"))
    return found


def claim(charge: EwalletCharge) -> PaymentClaim:
    return PaymentClaim(
        source=XenditProduct.EWALLET,
        payment_id=charge.id,
        object_id=charge.id,
        currency=charge.currency,
        amount=charge.capture_amount if charge.capture_amount is not None else charge.charge_amount,
        paid_at=charge.updated,
        method="EWALLET",
        channel=charge.channel_code,
        owner=OwnerHint.from_copy(charge.metadata, charge.reference_id),
    )


async def confirm(xendit: XenditClient, callback: XenditCallback) -> PaymentClaim:
    what = f"e-wallet charge {callback.object_id}"
    charge = await xendit.get_ewallet_charge(callback.object_id)
    if charge is None:
        raise not_found(what)
    problems(callback, charge).raise_if_any(what)
    return claim(charge)
