"""Amounts are plain, bounded decimals and timestamps carry a time zone, or the request is refused.

Every refusal is a 422 whose JSON error names the field, and nothing is queued or recorded.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from billing_testing.queues import QueueReader
from billing_testing.samples import FVA_PAID_CALLBACK, INVOICE_PAID_CALLBACK, INVOICE_REQUEST
from lovia_billing import parse_event

TOKEN = {"x-callback-token": "test-callback-token", "content-type": "application/json"}
CANCEL = {"customer_id": "cus_0001", "cancelled_at": "2026-12-31T23:59:59Z"}


def invoice(
    currency: str = "IDR", amount: Any = "150000", unit: Any = None, quantity: int = 1
) -> dict[str, Any]:
    line = {
        **INVOICE_REQUEST["lines"][0],
        "unit_amount": amount if unit is None else unit,
        "quantity": quantity,
    }
    return {**INVOICE_REQUEST, "currency": currency, "amount": amount, "lines": [line]}


def raw_invoice(amount_literal: str) -> str:
    """An invoice body with ``amount`` and the line's ``unit_amount`` written as this JSON literal."""
    body = json.dumps(invoice(amount="AMOUNT"))
    return body.replace('"AMOUNT"', amount_literal)


def fields(response: httpx.Response) -> set[str]:
    return {d["field"] for d in response.json()["error"]["details"]}


def assert_refused(
    response: httpx.Response, field: str, queues: QueueReader, ledger_items: Callable[[], list[Any]]
) -> None:
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "validation_error"
    assert field in fields(response), response.text
    assert queues.total() == 0
    assert ledger_items() == []


@pytest.mark.parametrize(
    ("amount", "needle"),
    [
        ("1e400", "not a plain decimal"),
        ("1E+30", "not a plain decimal"),
        ("1.5e3", "not a plain decimal"),
        (10**29, "largest accepted"),
        ("100000000000000000000000000000", "largest accepted"),
        (" 150000", "not a plain decimal"),
        ("150 000", "not a plain decimal"),
        ("1_50000", "not a plain decimal"),
        ("+150000", "not a plain decimal"),
        ("-150000", "negative"),
        ("NaN", "not a plain decimal"),
        ("Infinity", "not a plain decimal"),
        (
            "\u0661\u0665\u0660\u0660\u0660\u0660",
            "not a plain decimal",
        ),  # Arabic-Indic 150000: Decimal() takes it
        ("0x2710", "not a plain decimal"),
        (True, "not true or false"),
    ],
)
def test_amounts_that_are_not_plain_decimals_are_422_naming_the_field(
    api: httpx.Client,
    queues: QueueReader,
    ledger_items: Callable[[], list[Any]],
    amount: Any,
    needle: str,
) -> None:
    response = api.post("/v1/invoices", json=invoice(amount=amount))
    assert_refused(response, "body.amount", queues, ledger_items)
    assert needle in response.text


@pytest.mark.parametrize("literal", ["1e400", "1E+30", "150000.0", "1.5e5"])
def test_amounts_as_json_floats_or_exponent_numbers_are_422(
    api: httpx.Client, queues: QueueReader, ledger_items: Callable[[], list[Any]], literal: str
) -> None:
    response = api.post(
        "/v1/invoices", content=raw_invoice(literal), headers={"content-type": "application/json"}
    )
    assert_refused(response, "body.amount", queues, ledger_items)
    assert "never a JSON float" in response.text


@pytest.mark.parametrize(
    ("currency", "too_much"),
    [
        ("IDR", "10000000001"),
        ("IDR", "12345678901234567"),  # the 17-digit IDR invoice ERPNext refused
        ("VND", "100000000001"),
        ("PHP", "100000000.01"),
        ("USD", "100000001"),
        ("MYR", "100000001"),
        ("THB", "100000001"),
    ],
)
def test_amounts_above_the_currency_maximum_are_422(
    api: httpx.Client,
    queues: QueueReader,
    ledger_items: Callable[[], list[Any]],
    currency: str,
    too_much: str,
) -> None:
    response = api.post("/v1/invoices", json=invoice(currency, too_much))
    assert_refused(response, "body.amount", queues, ledger_items)
    assert f"above the {currency} maximum" in response.text or "largest accepted" in response.text


def test_a_line_total_above_the_maximum_is_422_naming_the_lines(
    api: httpx.Client, queues: QueueReader, ledger_items: Callable[[], list[Any]]
) -> None:
    # Each unit is allowed; the quantity makes the line (and the total) too large.
    response = api.post("/v1/invoices", json=invoice("PHP", "150000000", unit="50000000", quantity=3))
    assert_refused(response, "body.lines", queues, ledger_items)
    assert "lines[0] (quantity x unit_amount) 150000000 is above the PHP maximum" in response.text


@pytest.mark.parametrize(
    ("currency", "largest"),
    [("IDR", "10000000000"), ("VND", "100000000000"), ("PHP", "99999999.99"), ("USD", "100000000")],
)
def test_amounts_up_to_the_maximum_are_accepted_and_kept_exactly(
    api: httpx.Client, queues: QueueReader, currency: str, largest: str
) -> None:
    response = api.post("/v1/invoices", json=invoice(currency, largest))
    assert response.status_code == 202, response.text
    event = parse_event(queues.peek("xendit")[0]["Body"])
    assert format(getattr(event, "amount"), "f") == largest  # noqa: B009


@pytest.mark.parametrize("cancelled_at", ["2026-12-31T23:59:59", "2026-12-31 23:59:59", "2026-12-31"])
def test_a_cancellation_time_without_a_time_zone_is_422(
    api: httpx.Client, queues: QueueReader, ledger_items: Callable[[], list[Any]], cancelled_at: str
) -> None:
    response = api.post("/v1/subscriptions/sub_1/cancel", json={**CANCEL, "cancelled_at": cancelled_at})
    assert_refused(response, "body.cancelled_at", queues, ledger_items)


def test_a_cancellation_time_with_an_offset_is_accepted_as_that_instant(
    api: httpx.Client, queues: QueueReader
) -> None:
    response = api.post(
        "/v1/subscriptions/sub_1/cancel", json={**CANCEL, "cancelled_at": "2027-01-01T06:59:59+07:00"}
    )
    assert response.status_code == 202, response.text
    event = parse_event(queues.peek("xendit")[0]["Body"])
    assert getattr(event, "cancelled_at").isoformat() == "2027-01-01T06:59:59+07:00"  # noqa: B009


def callback(client: httpx.Client, body: str | dict[str, Any], route: str = "invoice") -> httpx.Response:
    content = body if isinstance(body, str) else json.dumps(body)
    return client.post(f"/webhooks/xendit/{route}", content=content, headers=TOKEN)


def with_amount(body: dict[str, Any], literal: str, field: str = "amount") -> str:
    """``body`` as JSON with ``field`` written as this literal (a JSON string, number, exponent)."""
    return json.dumps({**body, field: "AMOUNT"}).replace('"AMOUNT"', literal)


@pytest.mark.parametrize(
    ("route", "body", "field", "literal", "needle"),
    [
        ("invoice", INVOICE_PAID_CALLBACK, "amount", '"150000"', "JSON numbers, not strings"),
        ("invoice", INVOICE_PAID_CALLBACK, "paid_amount", '"150000"', "JSON numbers, not strings"),
        ("fva", FVA_PAID_CALLBACK, "amount", '"150000"', "JSON numbers, not strings"),
        ("invoice", INVOICE_PAID_CALLBACK, "amount", "1e400", "largest accepted"),
        ("invoice", INVOICE_PAID_CALLBACK, "amount", "1e-2", "whole number"),
        ("invoice", INVOICE_PAID_CALLBACK, "amount", "12345678901234567", "largest accepted"),
        ("invoice", INVOICE_PAID_CALLBACK, "amount", "10000000001", "above the IDR maximum"),
        ("invoice", INVOICE_PAID_CALLBACK, "paid_amount", "1.5E+10", "above the IDR maximum"),
        ("fva", FVA_PAID_CALLBACK, "amount", "100000000000", "above the IDR maximum"),
        ("invoice", INVOICE_PAID_CALLBACK, "amount", "true", "JSON numbers"),
    ],
)
def test_callback_amounts_must_be_json_numbers_within_bounds(
    client: httpx.Client,
    queues: QueueReader,
    ledger_items: Callable[[], list[Any]],
    route: str,
    body: dict[str, Any],
    field: str,
    literal: str,
    needle: str,
) -> None:
    response = callback(client, with_amount(body, literal, field), route)
    assert_refused(response, f"body.{field}", queues, ledger_items)
    assert needle in response.text


@pytest.mark.parametrize(("literal", "kept"), [("1.5e5", "150000"), ("15E4", "150000"), ("150000", "150000")])
def test_whole_exponent_numbers_from_xendit_are_taken_as_plain_amounts(
    client: httpx.Client, queues: QueueReader, literal: str, kept: str
) -> None:
    body = with_amount(INVOICE_PAID_CALLBACK, literal).replace(
        '"paid_amount": 150000', f'"paid_amount": {literal}'
    )
    response = callback(client, body)
    assert response.status_code == 200, response.text
    message = json.loads(queues.peek("xendit")[0]["Body"])
    assert message["amount"] == message["paid_amount"] == kept
