"""Recurring (subscriptions): ``recurring.cycle.succeeded`` confirmed by the cycle itself.

The payment's identity is the succeeded attempt's ``payment_id`` (the ``py-…`` payment the cycle
charged through the Payments API, so its ``payment.succeeded`` is the same payment), else its
legacy ``action_id``, else the cycle id.
"""

from __future__ import annotations

from lovia_billing import ConfirmationMismatch, XenditCallback, XenditProduct
from lovia_billing.clients.xendit import RecurringCycle, XenditClient
from xendit_sync.products._base import (
    OwnerHint,
    PaymentClaim,
    Problems,
    claimed_amount,
    not_found,
    payload_data,
)


def problems(callback: XenditCallback, cycle: RecurringCycle) -> Problems:
    data = payload_data(callback)
    found = Problems()
    found.require(cycle.status == "SUCCEEDED", f"cycle {cycle.id} is {cycle.status} at Xendit")
    found.require(cycle.succeeded_attempt() is not None, f"cycle {cycle.id} has no succeeded attempt")
    found.differs("amount", cycle.amount, claimed_amount(data.get("amount")))
    found.differs("currency", cycle.currency, data.get("currency"))
    found.differs("plan_id", cycle.plan_id, data.get("plan_id"))
    return found


def claim(cycle: RecurringCycle) -> PaymentClaim:
    attempt = cycle.succeeded_attempt()
    payment_id = (attempt.payment_id or attempt.action_id) if attempt else None
    return PaymentClaim(
        source=XenditProduct.RECURRING,
        payment_id=payment_id or cycle.id,
        object_id=cycle.id,
        currency=cycle.currency,
        amount=cycle.amount,
        paid_at=(attempt.created if attempt and attempt.created else cycle.updated),
        method="RECURRING",
        channel=None,
        owner=OwnerHint.from_copy(cycle.metadata, cycle.reference_id),
    )


async def confirm(xendit: XenditClient, callback: XenditCallback) -> PaymentClaim:
    plan_id = payload_data(callback).get("plan_id")
    what = f"recurring cycle {callback.object_id}"
    if not plan_id:
        raise ConfirmationMismatch(
            f"{what}: the callback names no plan_id to confirm it with; nothing booked"
        )
    cycle = await xendit.get_recurring_cycle(str(plan_id), callback.object_id)
    if cycle is None:
        raise not_found(what)
    problems(callback, cycle).raise_if_any(what)
    return claim(cycle)
