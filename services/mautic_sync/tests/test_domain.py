"""The billing state from facts, rule by rule, and the contact edit that reaches it (no Mautic)."""

from __future__ import annotations

import itertools

import pytest
from mautic_events import cancelled, expired, issued, paid, refunded

from mautic_sync.domain import (
    BillingState,
    BillingStatus,
    BillingTag,
    FieldAliases,
    SegmentMove,
    Standing,
    billing_state,
    plan,
)
from mautic_sync.facts import BillingEvent, fact_of

ALIASES = FieldAliases()
OPEN, PARTIAL, PAID = BillingTag.OPEN_INVOICE, BillingTag.PARTIALLY_PAID, BillingTag.PAID
FAILED, REFUNDED, CANCELLED = BillingTag.PAYMENT_FAILED, BillingTag.REFUNDED, BillingTag.CANCELLED


def state(*events: BillingEvent) -> BillingState:
    return billing_state(fact_of(event) for event in events)


def test_no_facts_is_no_state() -> None:
    assert state() == BillingState()
    assert state().status is BillingStatus.NONE
    assert state().segment is SegmentMove.LEAVE


def test_an_issued_invoice_is_open() -> None:
    s = state(issued("inv_1"))
    assert s.tags == {OPEN}
    assert s.open_invoices == {"inv_1"}
    assert s.status is BillingStatus.OPEN_INVOICE
    assert not s.active


def test_a_full_payment_closes_its_invoice_only_and_makes_the_customer_active() -> None:
    s = state(issued("inv_1"), issued("inv_2", hour=2), paid("inv_1", hour=3))
    assert s.tags == {OPEN, PAID}
    assert s.open_invoices == {"inv_2"}
    assert s.status is BillingStatus.OPEN_INVOICE
    assert s.segment is SegmentMove.JOIN


def test_the_observed_defect_a_payment_then_its_redriven_invoice_is_paid_only() -> None:
    s = state(paid("inv_1", hour=1), issued("inv_1", hour=0))
    assert s.tags == {PAID}
    assert s.status is BillingStatus.PAID
    assert s.open_invoices == frozenset()


def test_a_partial_payment_is_partially_paid_not_paid_and_the_invoice_stays_open() -> None:
    s = state(issued("inv_1", "150000"), paid("inv_1", "50000"))
    assert s.tags == {OPEN, PARTIAL}
    assert s.status is BillingStatus.PARTIALLY_PAID
    assert s.active  # money came in: the customer is a payer


def test_payments_of_one_invoice_add_up_and_a_repeated_payment_counts_once() -> None:
    part = paid("inv_1", "50000", payment_id="pay_a", hour=1)
    assert state(issued("inv_1"), part, part).tags == {OPEN, PARTIAL}
    rest = paid("inv_1", "100000", payment_id="pay_b", hour=2)
    assert state(issued("inv_1"), part, rest).tags == {PAID}


def test_without_issued_the_payments_invoice_amount_is_the_amount_due() -> None:
    assert state(paid("inv_1", "50000", invoice_amount="150000")).tags == {PARTIAL}
    assert state(paid("inv_1", "150000", invoice_amount="150000")).tags == {PAID}
    assert state(paid("inv_1", "50000")).tags == {PAID}  # nothing says more was due
    assert state(paid("inv_1", "50000"), issued("inv_1", "150000")).tags == {OPEN, PARTIAL}


def test_a_full_refund_is_refunded_and_not_paid() -> None:
    s = state(issued("inv_1"), paid("inv_1", hour=1), refunded("inv_1", hour=2))
    assert s.tags == {REFUNDED}
    assert s.status is BillingStatus.REFUNDED
    assert s.open_invoices == frozenset()  # a refunded invoice is not dunned


def test_refunds_add_up_to_a_full_refund() -> None:
    one = refunded("inv_1", "100000", refund_id="r1", hour=2)
    two = refunded("inv_1", "50000", refund_id="r2", hour=3)
    assert state(issued("inv_1"), paid("inv_1"), one).tags == {PAID}  # partly refunded: owes nothing
    assert state(issued("inv_1"), paid("inv_1"), one, two).tags == {REFUNDED}


def test_a_refund_of_an_older_invoice_is_the_latest_news() -> None:
    base = [issued("inv_1"), paid("inv_1", hour=1), issued("inv_2", hour=10), paid("inv_2", hour=11)]
    assert state(*base, refunded("inv_1", hour=12)).tags == {REFUNDED}
    assert state(*base, refunded("inv_1", hour=5)).tags == {PAID}


def test_expired_unpaid_is_a_failed_payment_and_closes_the_invoice() -> None:
    s = state(issued("inv_1"), paid("inv_1", hour=1), issued("inv_2", hour=10), expired("inv_2", hour=34))
    assert s.tags == {FAILED}
    assert s.status is BillingStatus.PAYMENT_FAILED
    assert s.active  # a failed renewal does not leave the segment; cancelling does


def test_a_partially_paid_invoice_that_expires_is_a_failed_payment() -> None:
    s = state(issued("inv_1"), paid("inv_1", "50000", hour=1), expired("inv_1", hour=24))
    assert s.tags == {FAILED}


def test_a_payment_after_expiry_pays_the_invoice() -> None:
    s = state(issued("inv_1"), expired("inv_1", hour=24), paid("inv_1", hour=30))
    assert s.tags == {PAID}


def test_an_expiry_after_a_later_invoices_payment_is_news_by_time_not_arrival() -> None:
    a = [issued("inv_1"), expired("inv_1", hour=24)]
    b = [issued("inv_2", hour=25), paid("inv_2", hour=26)]
    assert state(*a, *b).tags == {PAID}
    assert state(*b, *a).tags == {PAID}


def test_cancelling_leaves_and_stops_being_paid() -> None:
    s = state(issued("inv_1"), paid("inv_1", hour=1), cancelled(hour=48))
    assert s.tags == {CANCELLED}
    assert s.status is BillingStatus.CANCELLED
    assert s.segment is SegmentMove.LEAVE


def test_a_payment_after_cancelling_is_a_come_back() -> None:
    s = state(issued("inv_1"), paid("inv_1", hour=1), cancelled(hour=48), paid("inv_2", hour=50))
    assert s.tags == {PAID}
    assert s.segment is SegmentMove.JOIN


def test_a_cancellation_delivered_after_a_later_payment_does_not_cancel() -> None:
    events = [paid("inv_2", hour=50), cancelled(hour=48)]
    assert state(*events).tags == state(*reversed(events)).tags == {PAID}


def test_a_cancellation_at_the_moment_of_the_last_payment_wins() -> None:
    assert state(paid("inv_1", hour=5), cancelled(hour=5)).tags == {CANCELLED}


def test_a_failed_payment_survives_cancelling_but_later_expiries_are_no_failure() -> None:
    before = state(issued("inv_1"), expired("inv_1", hour=24), cancelled(hour=30))
    assert before.tags == {CANCELLED, FAILED}
    after = state(
        paid("inv_0", hour=0), issued("inv_1", hour=1), cancelled(hour=10), expired("inv_1", hour=25)
    )
    assert after.tags == {CANCELLED}
    assert after.standing is Standing.NONE


def test_expiry_while_cancelled_then_a_come_back_payment() -> None:
    s = state(cancelled(hour=1), issued("inv_1", hour=2), expired("inv_1", hour=26), paid("inv_2", hour=30))
    assert s.tags == {PAID}


def test_an_expiry_between_two_cancellations_is_no_failure() -> None:
    s = state(
        paid("inv_0", hour=0),
        cancelled("sub_1", hour=1),
        expired("inv_1", hour=2),
        cancelled("sub_2", hour=3),
    )
    assert s.tags == {CANCELLED}


def test_refund_after_cancelling_shows_both() -> None:
    s = state(issued("inv_1"), paid("inv_1", hour=1), cancelled(hour=2), refunded("inv_1", hour=3))
    assert s.tags == {CANCELLED, REFUNDED}


@pytest.mark.parametrize(
    ("standing", "cancelled_", "open_", "partial", "expected"),
    [
        (Standing.PAYMENT_FAILED, True, True, False, BillingStatus.CANCELLED),
        (Standing.PAYMENT_FAILED, False, True, True, BillingStatus.PAYMENT_FAILED),
        (Standing.PAID, False, True, True, BillingStatus.PARTIALLY_PAID),
        (Standing.REFUNDED, False, True, False, BillingStatus.OPEN_INVOICE),
        (Standing.REFUNDED, False, False, False, BillingStatus.REFUNDED),
        (Standing.PAID, False, False, False, BillingStatus.PAID),
        (Standing.NONE, False, False, False, BillingStatus.NONE),
    ],
)
def test_status_precedence(
    standing: Standing, cancelled_: bool, open_: bool, partial: bool, expected: BillingStatus
) -> None:
    ids = frozenset({"inv_1"})
    s = BillingState(
        standing=standing,
        cancelled=cancelled_,
        open_invoices=ids if open_ else frozenset(),
        partially_paid_invoices=ids if partial else frozenset(),
    )
    assert s.status is expected


REDRIVE_STORY: list[BillingEvent] = [
    issued("inv_1"),
    paid("inv_1", hour=1),
    issued("inv_2", hour=10),
    expired("inv_2", hour=34),
    refunded("inv_1", "50000", hour=40),
]


@pytest.mark.parametrize("order", list(itertools.permutations(range(len(REDRIVE_STORY)))))
def test_every_arrival_order_gives_one_state(order: tuple[int, ...]) -> None:
    assert state(*(REDRIVE_STORY[i] for i in order)) == state(*REDRIVE_STORY)
    assert state(*REDRIVE_STORY).tags == {FAILED}


def test_plan_adds_missing_tags_removes_our_extra_ones_and_keeps_the_rest() -> None:
    s = state(issued("inv_1"), paid("inv_1", hour=1))
    changes = plan(
        s,
        ["newsletter", "billing-open-invoice", "billing-paid", "billing-cancelled"],
        {"billing_status": "open_invoice", "billing_open_invoices": "inv_1"},
        ALIASES,
    )
    assert changes.tag_operations == ["-billing-cancelled", "-billing-open-invoice"]
    assert changes.fields == {"billing_status": "paid", "billing_open_invoices": ""}


def test_plan_changes_nothing_on_a_contact_that_shows_the_state() -> None:
    s = state(issued("inv_2"), issued("inv_1"))
    values = {"billing_status": "open_invoice", "billing_open_invoices": " inv_2,inv_1 "}
    assert not plan(s, ["billing-open-invoice"], values, ALIASES).changes_contact


def test_plan_leaves_an_empty_open_invoices_field_alone_when_none_is_open() -> None:
    changes = plan(state(paid("inv_1")), [], {"billing_status": None, "billing_open_invoices": None}, ALIASES)
    assert changes.fields == {"billing_status": "paid"}
    assert changes.tag_operations == ["billing-paid"]
