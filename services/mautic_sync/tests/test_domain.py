"""The billing decision, without Mautic: rules, and that applying an event twice changes nothing."""

from __future__ import annotations

import itertools

import pytest
from mautic_events import cancelled, expired, issued, paid

from mautic_sync.domain import (
    BillingEvent,
    BillingState,
    BillingStatus,
    BillingTag,
    FieldAliases,
    SegmentMove,
    decide,
    split_name,
)

ALIASES = FieldAliases()
EVENTS: list[BillingEvent] = [issued("inv_1"), issued("inv_2"), paid("inv_1"), expired("inv_2"), cancelled()]
STATES = [
    BillingState(paid=p, payment_failed=f, cancelled=c, open_invoices=frozenset(o))
    for p, f, c, o in itertools.product(
        [False, True], [False, True], [False, True], [(), ("inv_1",), ("inv_1", "inv_2")]
    )
]


def test_invoice_issued_opens_the_invoice() -> None:
    decision = decide(BillingState(), issued("inv_1"), ALIASES)
    assert decision.tags_to_add == {BillingTag.OPEN_INVOICE}
    assert decision.fields == {"billing_open_invoices": "inv_1", "billing_status": "open_invoice"}
    assert decision.segment is None


def test_payment_closes_its_invoice_only_and_joins_the_segment() -> None:
    state = BillingState(payment_failed=True, open_invoices=frozenset({"inv_1", "inv_2"}))
    decision = decide(state, paid("inv_1"), ALIASES, stored_status="payment_failed")
    assert decision.after.open_invoices == {"inv_2"}
    assert decision.after.tags == {BillingTag.PAID, BillingTag.OPEN_INVOICE}
    assert decision.tag_operations == ["billing-paid", "-billing-payment-failed"]
    assert decision.segment is SegmentMove.JOIN


def test_last_payment_clears_the_open_invoice_tag_and_field() -> None:
    decision = decide(BillingState(open_invoices=frozenset({"inv_1"})), paid("inv_1"), ALIASES)
    assert BillingTag.OPEN_INVOICE in decision.tags_to_remove
    assert decision.fields["billing_open_invoices"] == ""
    assert decision.after.status is BillingStatus.PAID


def test_expiry_is_a_failed_payment() -> None:
    decision = decide(BillingState(paid=True, open_invoices=frozenset({"inv_1"})), expired("inv_1"), ALIASES)
    assert decision.after.tags == {BillingTag.PAYMENT_FAILED}
    assert decision.after.status is BillingStatus.PAYMENT_FAILED


def test_expiring_a_cancelled_customers_invoice_is_no_failure() -> None:
    state = BillingState(cancelled=True, open_invoices=frozenset({"inv_1"}))
    decision = decide(state, expired("inv_1"), ALIASES, stored_status="cancelled")
    assert decision.after.tags == {BillingTag.CANCELLED}
    assert decision.fields == {"billing_open_invoices": ""}


def test_cancellation_leaves_the_segment_and_stops_being_paid() -> None:
    decision = decide(BillingState(paid=True), cancelled(), ALIASES, stored_status="paid")
    assert decision.tag_operations == ["billing-cancelled", "-billing-paid"]
    assert decision.fields == {"billing_status": "cancelled"}
    assert decision.segment is SegmentMove.LEAVE


def test_payment_after_cancelling_is_a_come_back() -> None:
    decision = decide(BillingState(cancelled=True), paid("inv_9"), ALIASES, stored_status="cancelled")
    assert decision.after.tags == {BillingTag.PAID}
    assert decision.segment is SegmentMove.JOIN


@pytest.mark.parametrize("event", EVENTS, ids=lambda e: f"{e.type}:{getattr(e, 'invoice_id', '')}")
@pytest.mark.parametrize("state", STATES)
def test_deciding_again_after_applying_changes_nothing(state: BillingState, event: BillingEvent) -> None:
    first = decide(state, event, ALIASES)
    reread = BillingState.from_contact(
        first.after.tags, first.fields.get("billing_open_invoices", ",".join(sorted(state.open_invoices)))
    )
    assert reread == first.after
    second = decide(reread, event, ALIASES, stored_status=first.after.status.value)
    assert not second.changes_contact
    assert second.after == first.after
    assert second.segment == first.segment  # segment moves are repeated; Mautic's add/remove are idempotent


def test_from_contact_ignores_other_tags() -> None:
    state = BillingState.from_contact(["newsletter", "billing-paid"], " inv_2,inv_1 ")
    assert state == BillingState(paid=True, open_invoices=frozenset({"inv_1", "inv_2"}))


@pytest.mark.parametrize(
    ("name", "expected"),
    [("Siti Nur Aisyah", ("Siti", "Nur Aisyah")), ("Budi", ("Budi", "")), ("  Ann   Lee ", ("Ann", "Lee"))],
)
def test_split_name(name: str, expected: tuple[str, str]) -> None:
    assert split_name(name) == expected
