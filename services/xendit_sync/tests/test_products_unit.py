"""The pure parts of product confirmation: what counts as a problem, and what is booked.

No servers: the API copies are built here. The sandbox-backed tests (test_products_e2e.py) prove
the same rules over HTTP.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lovia_billing import PermanentError, XenditCallback, XenditProduct
from lovia_billing.clients.xendit import Capture, EwalletCharge, PaymentRequest, RecurringCycle, Refund
from xendit_sync import mapping
from xendit_sync.products import Owner, ewallet, payment_request, recurring
from xendit_sync.products import refund as refund_product

NOW = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)
META = {"lovia_customer_id": "cus_1", "lovia_invoice_id": "inv_1"}


def callback(product: XenditProduct, object_id: str, data: dict[str, Any]) -> XenditCallback:
    return XenditCallback.create(
        customer_id="cus_1",
        product=product,
        event="x",
        object_id=object_id,
        key=object_id,
        payload={"event": "x", "data": data},
    )


def request(status: str = "SUCCEEDED", currency: str = "IDR") -> PaymentRequest:
    return PaymentRequest.model_validate(
        {
            "id": "pr-1",
            "currency": currency,
            "amount": "150000",
            "status": status,
            "metadata": META,
            "payment_method": {"type": "EWALLET", "ewallet": {"channel_code": "OVO"}},
            "created": NOW,
            "updated": NOW,
        }
    )


def capture(amount: str = "150000", status: str = "SUCCEEDED") -> Capture:
    return Capture.model_validate(
        {
            "id": "cap-1",
            "payment_request_id": "pr-1",
            "payment_id": "py-1",
            "currency": "IDR",
            "captured_amount": amount,
            "status": status,
            "created": NOW,
            "updated": NOW,
        }
    )


def test_a_confirmed_payment_request_books_the_capture_not_the_callback() -> None:
    claimed = callback(XenditProduct.PAYMENT_REQUEST, "py-1", {"payment_request_id": "pr-1"})
    assert payment_request.problems(claimed, request(), capture("120000")).items == []
    claim = payment_request.claim(request(), capture("120000"))
    assert (claim.payment_id, claim.amount, claim.channel) == ("py-1", Decimal("120000"), "OVO")
    assert (claim.owner.customer_id, claim.owner.invoice_id) == ("cus_1", "inv_1")


@given(
    claimed=st.integers(min_value=1, max_value=10**12),
    actual=st.integers(min_value=1, max_value=10**12),
    status=st.sampled_from(["SUCCEEDED", "PENDING", "FAILED", "REQUIRES_ACTION"]),
    currency=st.sampled_from(["IDR", "PHP"]),
)
def test_any_difference_from_the_api_is_a_problem(
    claimed: int, actual: int, status: str, currency: str
) -> None:
    data = {"payment_request_id": "pr-1", "amount": str(claimed), "currency": "IDR"}
    found = payment_request.problems(
        callback(XenditProduct.PAYMENT_REQUEST, "py-1", data), request(status, currency), capture(str(actual))
    )
    agrees = claimed == actual and status == "SUCCEEDED" and currency == "IDR"
    assert (found.items == []) is agrees


def test_a_payment_id_that_is_no_capture_of_the_request_is_a_problem() -> None:
    claimed = callback(XenditProduct.PAYMENT_REQUEST, "py-forged", {"payment_request_id": "pr-1"})
    assert payment_request.problems(claimed, request(), None).items


def cycle(status: str = "SUCCEEDED", attempts: list[dict[str, Any]] | None = None) -> RecurringCycle:
    return RecurringCycle.model_validate(
        {
            "id": "recy-1",
            "plan_id": "repl-1",
            "status": status,
            "currency": "IDR",
            "amount": "99000",
            "metadata": META,
            "updated": NOW,
            "attempt_details": attempts
            if attempts is not None
            else [
                {"attempt_number": 1, "status": "FAILED", "payment_id": "py-failed"},
                {"attempt_number": 2, "status": "SUCCEEDED", "payment_id": "py-9", "created": NOW},
            ],
        }
    )


def test_a_cycle_is_one_payment_with_its_succeeded_attempts_payment_id() -> None:
    claimed = callback(XenditProduct.RECURRING, "recy-1", {"plan_id": "repl-1", "amount": "99000"})
    assert recurring.problems(claimed, cycle()).items == []
    assert recurring.claim(cycle()).payment_id == "py-9"


@pytest.mark.parametrize("status", ["PENDING", "RETRYING", "FAILED", "SCHEDULED"])
def test_a_cycle_that_did_not_succeed_books_nothing(status: str) -> None:
    claimed = callback(XenditProduct.RECURRING, "recy-1", {"plan_id": "repl-1"})
    assert recurring.problems(claimed, cycle(status, attempts=[])).items


def test_an_ewallet_charge_must_have_succeeded_with_the_claimed_amount() -> None:
    charge = EwalletCharge.model_validate(
        {
            "id": "ewc_1",
            "status": "SUCCEEDED",
            "currency": "PHP",
            "charge_amount": "1499.50",
            "capture_amount": "1499.50",
            "channel_code": "PH_GCASH",
            "metadata": META,
            "created": NOW,
            "updated": NOW,
        }
    )
    good = callback(XenditProduct.EWALLET, "ewc_1", {"capture_amount": "1499.50", "currency": "PHP"})
    bad = callback(XenditProduct.EWALLET, "ewc_1", {"capture_amount": "1", "currency": "PHP"})
    assert ewallet.problems(good, charge).items == []
    assert ewallet.problems(bad, charge).items
    assert ewallet.claim(charge).amount == Decimal("1499.50")


def refund(amount: str = "50000", status: str = "SUCCEEDED", currency: str = "IDR") -> Refund:
    return Refund.model_validate(
        {
            "id": "rfd-1",
            "invoice_id": "xinv-1",
            "payment_id": "py-1",
            "amount": amount,
            "currency": currency,
            "status": status,
            "reason": "REQUESTED_BY_CUSTOMER",
            "created": NOW,
            "updated": NOW,
        }
    )


def test_a_refund_must_have_succeeded() -> None:
    claimed = callback(XenditProduct.REFUND, "rfd-1", {"invoice_id": "xinv-1", "amount": "50000"})
    assert refund_product.problems(claimed, refund()).items == []
    assert refund_product.problems(claimed, refund(status="PENDING")).items
    assert refund_product.problems(claimed, refund(amount="60000")).items


def test_a_refund_is_never_more_than_its_payment_nor_in_another_currency() -> None:
    claim = payment_request.claim(request(), capture("150000"))
    payment = mapping.claimed_payment_event(claim, Owner("cus_1", "inv_1", Decimal("150000"), "IDR"))
    assert mapping.refund_event(refund("150000"), payment).amount == Decimal("150000")
    with pytest.raises(PermanentError, match="more than"):
        mapping.refund_event(refund("150001"), payment)
    with pytest.raises(PermanentError, match="PHP"):
        mapping.refund_event(refund(currency="PHP"), payment)


def test_every_report_of_one_payment_is_one_event() -> None:
    """The event id depends on the payment's identity alone, not on the product that reported it."""
    owner = Owner("cus_1", "inv_1", Decimal("150000"), "IDR")
    from_request = mapping.claimed_payment_event(payment_request.claim(request(), capture()), owner)
    paid_attempt = {"status": "SUCCEEDED", "payment_id": "py-1", "created": NOW}
    from_cycle = mapping.claimed_payment_event(recurring.claim(cycle(attempts=[paid_attempt])), owner)
    assert from_request.event_id == from_cycle.event_id
    assert from_request.invoice_amount == Decimal("150000")


def test_a_payment_in_another_currency_than_its_invoice_is_refused() -> None:
    with pytest.raises(PermanentError, match="IDR"):
        mapping.claimed_payment_event(
            payment_request.claim(request(), capture()), Owner("cus_1", "inv_1", Decimal("10"), "PHP")
        )
