"""Payments API v2: ``payment.succeeded`` confirmed by the payment request and its capture.

The payment's identity is the capture's ``payment_id`` (``py-…``), the same id a recurring
cycle's attempt and the callback's ``data.id`` carry.
"""

from __future__ import annotations

from lovia_billing import ConfirmationMismatch, XenditCallback, XenditProduct
from lovia_billing.clients.xendit import Capture, PaymentRequest, XenditClient
from xendit_sync.products._base import (
    OwnerHint,
    PaymentClaim,
    Problems,
    claimed_amount,
    not_found,
    payload_data,
)

SUCCEEDED = "SUCCEEDED"


def problems(callback: XenditCallback, request: PaymentRequest, capture: Capture | None) -> Problems:
    data = payload_data(callback)
    found = Problems()
    found.require(request.status == SUCCEEDED, f"payment request {request.id} is {request.status} at Xendit")
    if capture is None:
        found.items.append(f"payment {callback.object_id} is not a capture of payment request {request.id}")
        return found
    found.require(capture.status == SUCCEEDED, f"capture {capture.id} is {capture.status} at Xendit")
    found.differs("amount", capture.captured_amount, claimed_amount(data.get("amount")))
    found.differs("currency", request.currency, data.get("currency"))
    return found


def claim(request: PaymentRequest, capture: Capture) -> PaymentClaim:
    method = request.payment_method
    return PaymentClaim(
        source=XenditProduct.PAYMENT_REQUEST,
        payment_id=capture.payment_id,
        object_id=request.id,
        currency=request.currency,
        amount=capture.captured_amount,
        paid_at=capture.updated,
        method=method.type if method else None,
        channel=method.channel_code if method else None,
        owner=OwnerHint.from_copy(request.metadata or capture.metadata, request.reference_id),
    )


async def fetch(
    xendit: XenditClient, payment_request_id: str, payment_id: str
) -> tuple[PaymentRequest, Capture | None]:
    what = f"payment {payment_id} of payment request {payment_request_id}"
    request = await xendit.get_payment_request(payment_request_id)
    captures = await xendit.list_captures(payment_request_id) if request is not None else None
    if request is None or captures is None:
        raise not_found(what)
    return request, next((c for c in captures.data if c.payment_id == payment_id), None)


async def confirm(xendit: XenditClient, callback: XenditCallback) -> PaymentClaim:
    data = payload_data(callback)
    request_id = data.get("payment_request_id")
    what = f"payment {callback.object_id}"
    if not request_id:
        raise ConfirmationMismatch(
            f"{what}: the callback names no payment_request_id to confirm it with; nothing booked"
        )
    request, capture = await fetch(xendit, str(request_id), callback.object_id)
    problems(callback, request, capture).raise_if_any(what)
    if capture is None:  # reported by problems(); kept for the type checker
        raise not_found(what)
    return claim(request, capture)
