"""The pure rules that turn our events into ChartMogul records."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from chartmogul_events import cancellation, expiry, invoice, payment, refund

from chartmogul_sync import mapping
from lovia_billing import ServicePeriod

DS = "ds_x"


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        (date(2025, 1, 1), date(2025, 1, 31), (1, "month")),
        (date(2025, 1, 15), date(2025, 2, 14), (1, "month")),
        (date(2025, 1, 1), date(2025, 3, 31), (3, "month")),
        (date(2025, 1, 1), date(2025, 12, 31), (1, "year")),
        (date(2025, 1, 1), date(2025, 1, 7), (7, "day")),
    ],
)
def test_plan_interval_follows_the_service_period(start: date, end: date, expected: tuple[int, str]) -> None:
    assert mapping.plan_interval(ServicePeriod(start=start, end=end)) == expected


def test_invoice_is_one_subscription_line_in_minor_units_for_the_whole_period() -> None:
    event = invoice()
    groups = mapping.subscription_groups(event, DS)
    new = mapping.new_invoice(event, groups, {"basic": "pl_1"})
    [line] = new.line_items
    assert line.amount_in_cents == 15_000_000  # IDR 150000 with ISO exponent 2
    assert (line.type, line.plan_uuid, line.subscription_external_id) == ("subscription", "pl_1", "sub_0001")
    assert line.service_period_start == datetime(2025, 1, 1, tzinfo=UTC)
    assert line.service_period_end == datetime(2025, 2, 1, tzinfo=UTC)  # the day after the last one included
    assert line.external_id == "inv_2025_01:basic"
    payload = new.payload()
    assert payload["date"] == "2025-01-01T01:00:00Z"
    assert payload["due_date"] == "2025-01-08T00:00:00Z"


def test_extra_items_become_add_on_subscriptions_and_plan_id_wins_over_item_codes() -> None:
    lines = [
        {"item_code": "basic", "description": "Basic", "quantity": 1, "unit_amount": "100000"},
        {"item_code": "seats", "description": "Seats", "quantity": 2, "unit_amount": "25000"},
    ]
    groups = mapping.subscription_groups(invoice(lines=lines, amount="150000"), DS)
    assert [(g.subscription_external_id, g.amount_in_cents) for g in groups] == [
        ("sub_0001", 10_000_000),
        ("sub_0001:seats", 5_000_000),
    ]
    [single] = mapping.subscription_groups(invoice(lines=lines, amount="150000", plan_id="pro"), DS)
    assert single.plan is not None
    assert (single.plan.external_id, single.amount_in_cents, single.quantity) == ("pro", 15_000_000, 3)


def test_without_subscription_the_invoice_id_names_it_and_without_period_items_are_one_time() -> None:
    [group] = mapping.subscription_groups(invoice(subscription_id=None), DS)
    assert group.subscription_external_id == "inv_2025_01"
    event = invoice(period=None)
    new = mapping.new_invoice(event, mapping.subscription_groups(event, DS), {})
    assert [(li.type, li.plan_uuid, li.amount_in_cents) for li in new.line_items] == [
        ("one_time", None, 15_000_000)
    ]


def test_payment_and_expiry_transactions() -> None:
    paid = mapping.payment_transaction(payment()).payload()
    assert paid == {
        "type": "payment",
        "result": "successful",
        "date": "2025-01-03T09:30:00Z",
        "external_id": "pay_xnd_1",
        "amount_in_cents": 15_000_000,
        "transaction_fees_in_cents": 499_500,
        "transaction_fees_currency": "IDR",
    }
    failed = mapping.expiry_transaction(expiry())
    assert (failed.result, failed.external_id, failed.amount_in_cents) == (
        "failed",
        "xnd_inv_1:expired",
        15_000_000,
    )


def test_cancellation_date_is_added_once_to_the_full_list() -> None:
    at = cancellation().cancelled_at
    earlier = datetime(2024, 6, 1, tzinfo=UTC)
    assert mapping.with_cancellation([earlier], at) == [earlier, at]
    assert mapping.with_cancellation([earlier, at.replace(microsecond=0)], at) is None
    assert mapping.belongs_to("sub_0001:seats", "sub_0001")
    assert not mapping.belongs_to("sub_00010", "sub_0001")


def test_a_refund_is_a_positive_successful_refund_transaction_in_minor_units() -> None:
    assert mapping.refund_transaction(refund(amount="50000.25")).payload() == {
        "type": "refund",
        "result": "successful",
        "date": "2025-01-06T08:00:00Z",
        "external_id": "rfd_xnd_1",
        "amount_in_cents": 5_000_025,
    }
    partial = mapping.payment_transaction(payment(amount="60000", fees="0")).payload()
    assert (partial["amount_in_cents"], "transaction_fees_in_cents" in partial) == (6_000_000, False)
