"""Facts: one per billing event, written as one canonical string whatever the event's spelling."""

from __future__ import annotations

import json
from datetime import timedelta, timezone
from decimal import Decimal

import pytest
from mautic_events import WHEN, cancelled, expired, issued, paid, refunded

from mautic_sync.facts import (
    BillingEvent,
    Cancelled,
    Expired,
    Issued,
    Paid,
    Refunded,
    decode,
    encode,
    fact_of,
    read_facts,
)

EVENTS: list[BillingEvent] = [
    issued(),
    paid(invoice_amount="150000"),
    refunded(),
    expired(),
    cancelled(),
]


def test_each_billing_event_is_its_fact() -> None:
    assert fact_of(issued()) == Issued(
        invoice_id="inv_1", amount=Decimal(150000), currency="IDR", issued_at=WHEN
    )
    assert fact_of(paid(hour=0)) == Paid(
        invoice_id="inv_1", payment_id="pay_inv_1", amount=Decimal(150000), paid_at=WHEN
    )
    assert fact_of(refunded(hour=0)) == Refunded(
        invoice_id="inv_1",
        refund_id="rfd_inv_1",
        payment_id="pay_inv_1",
        amount=Decimal(150000),
        refunded_at=WHEN,
    )
    assert fact_of(expired(hour=0)) == Expired(invoice_id="inv_1", expired_at=WHEN)
    assert fact_of(cancelled(hour=0)) == Cancelled(subscription_id="sub_1", cancelled_at=WHEN)


@pytest.mark.parametrize("event", EVENTS, ids=lambda e: e.type)
def test_a_fact_reads_back_as_itself(event: BillingEvent) -> None:
    fact = fact_of(event)
    assert decode(encode(fact)) == fact
    assert encode(decode(encode(fact))) == encode(fact)


def test_the_string_is_canonical_json() -> None:
    text = encode(fact_of(paid(hour=0)))
    assert text == (
        '{"amount":"150000","invoice_id":"inv_1","kind":"paid",'
        '"paid_at":"2025-03-04T10:15:00Z","payment_id":"pay_inv_1"}'
    )
    assert json.loads(text)["kind"] == "paid"


def test_equal_facts_spelled_differently_are_one_string() -> None:
    jakarta = timezone(timedelta(hours=7))
    a = Paid(invoice_id="i", payment_id="p", amount=Decimal("150000.00"), paid_at=WHEN)
    b = Paid(invoice_id="i", payment_id="p", amount=Decimal("1.5E+5"), paid_at=WHEN.astimezone(jakarta))
    assert encode(a) == encode(b)
    assert encode(Paid(invoice_id="i", payment_id="p", amount=Decimal("0.50"), paid_at=WHEN)).startswith(
        '{"amount":"0.5",'
    )


def test_unknown_strings_are_set_aside_not_fatal() -> None:
    known = encode(fact_of(issued()))
    facts, unreadable = read_facts({known, '{"kind":"disputed","invoice_id":"inv_1"}', "not json"})
    assert facts == [fact_of(issued())]
    assert sorted(unreadable) == ["not json", '{"kind":"disputed","invoice_id":"inv_1"}']
    with pytest.raises(ValueError, match="not a billing fact"):
        decode("not json")
