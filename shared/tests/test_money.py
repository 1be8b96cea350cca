"""``_money``: what an amount may look like, its bounds, and exact round trips (pure logic)."""

from __future__ import annotations

import json
import string
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from lovia_billing._money import (
    ABSOLUTE_MAX_AMOUNT,
    MAX_AMOUNT,
    MAX_DECIMAL_PLACES,
    SUPPORTED_CURRENCIES,
    Amount,
    CallbackAmount,
    JsonNumber,
    ProviderAmount,
    check_precision,
    to_minor_units,
)

PROPERTIES = settings(max_examples=300, deadline=None, database=None)


class Priced(BaseModel):
    amount: Amount


class Called(BaseModel):
    amount: CallbackAmount


class Provided(BaseModel):
    amount: ProviderAmount


def from_json(text: str, model: type[BaseModel] = Priced) -> Decimal:
    """Decode as the ingest does (no float ever) and validate."""
    amount: Decimal = getattr(model.model_validate(json.loads(text, parse_float=JsonNumber)), "amount")  # noqa: B009
    return amount


#: Plain decimal strings: digits, optionally a point and up to MAX_DECIMAL_PLACES digits.
plain_amounts = st.builds(
    lambda whole, fraction: f"{whole}.{fraction}" if fraction else str(whole),
    st.integers(min_value=0, max_value=int(ABSOLUTE_MAX_AMOUNT)),
    st.text(alphabet=string.digits, max_size=MAX_DECIMAL_PLACES),
).filter(lambda text: Decimal(text) <= ABSOLUTE_MAX_AMOUNT)


@PROPERTIES
@given(plain_amounts)
def test_any_plain_amount_within_bounds_round_trips_exactly(text: str) -> None:
    model = Priced(amount=text)  # type: ignore[arg-type]
    assert model.amount == Decimal(text)
    assert 0 <= model.amount <= ABSOLUTE_MAX_AMOUNT
    dumped = model.model_dump_json()
    assert json.loads(dumped) == {"amount": format(Decimal(text), "f")}  # every decimal kept
    again = Priced.model_validate_json(dumped)
    assert again.amount == model.amount
    assert again.model_dump_json() == dumped


@PROPERTIES
@given(st.one_of(plain_amounts, st.integers(), st.text(), st.decimals(allow_nan=True)))
def test_anything_accepted_is_within_bounds_and_survives_our_own_json(value: Any) -> None:
    raw = str(value) if isinstance(value, Decimal) else value
    try:
        amount = Priced(amount=raw).amount
    except ValidationError:
        return
    assert amount.is_finite()
    assert 0 <= amount <= ABSOLUTE_MAX_AMOUNT
    assert -amount.as_tuple().exponent <= MAX_DECIMAL_PLACES  # type: ignore[operator]
    serialised = format(amount, "f")
    assert Priced(amount=serialised).amount == amount  # type: ignore[arg-type]


@PROPERTIES
@given(
    st.text(alphabet=string.digits + ".", min_size=1, max_size=6),
    st.sampled_from(["e", "E"]),
    st.sampled_from(["", "+", "-"]),
    st.integers(min_value=0, max_value=400),
)
def test_any_string_with_an_exponent_is_refused(mantissa: str, e: str, sign: str, power: int) -> None:
    with pytest.raises(ValidationError, match="not a plain decimal"):
        Priced(amount=f"{mantissa}{e}{sign}{power}")  # type: ignore[arg-type]


@PROPERTIES
@given(st.integers(min_value=int(ABSOLUTE_MAX_AMOUNT) + 1))
def test_integers_above_the_largest_amount_are_refused(value: int) -> None:
    with pytest.raises(ValidationError, match="largest accepted"):
        Priced(amount=value)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "value",
    [
        "1e400",
        "1E+30",
        "-1",
        "+1",
        " 1",
        "1 ",
        "1_000",
        "1,000",
        ".5",
        "5.",
        "NaN",
        "Infinity",
        "sNaN",
        "",
        "0x10",
    ],
)
def test_amount_strings_that_decimal_would_take_or_half_numbers_are_refused(value: str) -> None:
    with pytest.raises(ValidationError):
        Priced(amount=value)  # type: ignore[arg-type]


@pytest.mark.parametrize("literal", ["1.5", "150000.0", "1e3", "1E+30", "true"])
def test_json_floats_and_booleans_are_refused_as_amounts(literal: str) -> None:
    with pytest.raises(ValidationError):
        from_json(f'{{"amount": {literal}}}')


def test_decimals_from_our_own_code_are_bounded_too() -> None:
    assert Priced(amount=Decimal("1E+3")).model_dump_json() == '{"amount":"1000"}'
    assert Priced(amount=-Decimal(0)).model_dump_json() == '{"amount":"0"}'
    for bad in (Decimal("NaN"), Decimal("Infinity"), Decimal("1E+12"), Decimal("0.0000000001"), Decimal(-1)):
        with pytest.raises(ValidationError):
            Priced(amount=bad)


@pytest.mark.parametrize(
    ("literal", "kept"),
    [("150000", "150000"), ("1499.5", "1499.5"), ("1e3", "1000"), ("1.5E+2", "150"), ("15e4", "150000")],
)
def test_callback_amounts_are_json_numbers_exponents_only_when_whole(literal: str, kept: str) -> None:
    amount = from_json(f'{{"amount": {literal}}}', Called)
    assert format(amount, "f") == kept


@pytest.mark.parametrize(
    ("literal", "needle"),
    [
        ('"150000"', "not strings"),
        ("1e-2", "whole number"),
        ("1.25e1", "whole number"),
        ("1e400", "largest accepted"),
        ("100000000001", "largest accepted"),
        ("-5", "negative"),
        ("true", "JSON numbers"),
        ("null", "JSON numbers"),
    ],
)
def test_callback_amounts_that_are_not_whole_bounded_numbers_are_refused(literal: str, needle: str) -> None:
    with pytest.raises(ValidationError, match=needle):
        from_json(f'{{"amount": {literal}}}', Called)


def test_provider_amounts_in_our_own_events_still_read_their_decimal_strings() -> None:
    # The canonical body of a xendit.invoice.* event carries the callback's amount as a string.
    assert Provided.model_validate_json('{"amount": "1499.5"}').amount == Decimal("1499.5")
    assert from_json('{"amount": 1499.5}', Provided) == Decimal("1499.5")
    with pytest.raises(ValidationError):
        Provided.model_validate_json('{"amount": "1e3"}')


@pytest.mark.parametrize("currency", SUPPORTED_CURRENCIES)
def test_each_currency_maximum_is_accepted_one_more_is_not_and_fits_downstream(currency: str) -> None:
    largest = MAX_AMOUNT[currency]
    check_precision(largest, currency)
    with pytest.raises(ValueError, match=f"above the {currency} maximum"):
        check_precision(largest + 1, currency)
    assert len(str(int(largest))) <= 12  # ERPNext Currency: decimal(21,9), 12 integer digits
    assert to_minor_units(largest, currency) < 2**63  # ChartMogul amount_in_cents: 64-bit integer
    assert largest <= ABSOLUTE_MAX_AMOUNT


def test_precision_is_still_checked_per_currency() -> None:
    check_precision(Decimal("1499.50"), "PHP")
    check_precision(Decimal("150000.00"), "IDR")  # trailing zeros are no decimals
    with pytest.raises(ValueError, match="decimal places"):
        check_precision(Decimal("150000.5"), "IDR")


def test_a_huge_negative_exponent_amount_in_a_callback_is_refused_not_a_crash() -> None:
    """Found by the OpenAPI fuzzing: -1.5e308 reached ``quantize`` and overflowed (a 500)."""
    import json

    from pydantic import TypeAdapter, ValidationError

    from lovia_billing._money import CallbackAmount, JsonNumber

    adapter: TypeAdapter[Decimal] = TypeAdapter(CallbackAmount)
    for raw in ("-1.508227677638668e+308", "1.9e+308"):
        with pytest.raises(ValidationError, match="largest accepted amount"):
            adapter.validate_python(json.loads(raw, parse_float=JsonNumber))
    assert adapter.validate_python(json.loads("1e3", parse_float=JsonNumber)) == Decimal(1000)
