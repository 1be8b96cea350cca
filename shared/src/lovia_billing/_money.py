"""Money: ``Decimal`` amounts, never floats, bounded, and the one rule for minor units.

Amounts travel as decimal strings in our JSON (``"150000"``, ``"1499.50"``). Our API accepts an
integer or a plain decimal string and refuses a JSON float, because a float has already lost
precision by the time we see it. Every amount is bounded (``MAX_AMOUNT``), so that what the ingest
accepts is what Xendit, ERPNext and ChartMogul can all store: an amount that one of them refuses
would leave the books split (the payment booked in one place, the invoice dead-lettered in another).
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BeforeValidator, PlainSerializer, WithJsonSchema

Currency = Literal["IDR", "PHP", "USD", "MYR", "THB", "VND"]
SUPPORTED_CURRENCIES: tuple[str, ...] = ("IDR", "PHP", "USD", "MYR", "THB", "VND")

#: ISO 4217 exponent: how many decimals the currency's minor unit has (IDR: sen, x100).
ISO_EXPONENT: dict[str, int] = {"IDR": 2, "PHP": 2, "USD": 2, "MYR": 2, "THB": 2, "VND": 0}

#: Decimals we accept in an amount. Xendit truncates IDR decimals, so an IDR amount with sen
#: would be billed differently from what the books say: refuse it at the door.
ACCEPTED_DECIMALS: dict[str, int] = {"IDR": 0, "PHP": 2, "USD": 2, "MYR": 2, "THB": 2, "VND": 0}

#: The largest amount we accept, per currency. Far above any real invoice of ours and well inside
#: what each system that stores it takes: ERPNext's Currency fields are decimal(21,9), 12 integer
#: digits (VND 10^11 has 12); ChartMogul's ``amount_in_cents`` is a 64-bit integer (IDR 10^10 is
#: 10^12 sen); Xendit bills far smaller amounts per invoice.
MAX_AMOUNT: dict[str, Decimal] = {
    "IDR": Decimal(10_000_000_000),
    "VND": Decimal(100_000_000_000),
    "PHP": Decimal(100_000_000),
    "USD": Decimal(100_000_000),
    "MYR": Decimal(100_000_000),
    "THB": Decimal(100_000_000),
}
#: Any amount, whatever its currency (checked where the currency is not known): the largest above.
ABSOLUTE_MAX_AMOUNT: Decimal = max(MAX_AMOUNT.values())
#: Decimals any amount may carry: ERPNext keeps 9 (decimal(21,9)). The currency's own rule
#: (``ACCEPTED_DECIMALS``) is checked where the currency is known (``check_precision``).
MAX_DECIMAL_PLACES = 9

#: What an amount string may look like: ASCII digits, optionally a point and digits. ``Decimal``
#: alone would also take "1e400", "+1", " 1", "1_000", "NaN", "Infinity" and non-ASCII digits.
AMOUNT_PATTERN = r"^[0-9]+(\.[0-9]+)?$"
_AMOUNT_STRING = re.compile(r"[0-9]+(?:\.[0-9]+)?")


class JsonNumber(Decimal):
    """A JSON number with a fraction or exponent, decoded exactly (``json.loads(parse_float=JsonNumber)``).

    Our API refuses it in an ``Amount`` (a client that sends ``1.5`` has a float somewhere); a
    provider's amount accepts it, because Xendit sends amounts such as ``1499.5`` as numbers.
    ``has_exponent`` remembers whether the literal was written with one (``1e3``).
    """

    __slots__ = ("has_exponent",)

    has_exponent: bool

    def __new__(cls, literal: str = "0") -> JsonNumber:
        number = super().__new__(cls, literal)
        number.has_exponent = "e" in str(literal).lower()
        return number


def _from_string(value: str) -> Decimal:
    if not _AMOUNT_STRING.fullmatch(value):
        if value.strip().startswith("-"):
            raise ValueError(f"{value!r}: amounts must not be negative")
        raise ValueError(
            f"{value!r} is not a plain decimal amount: digits, optionally a point and digits "
            "(no sign, exponent, spaces or separators)"
        )
    return Decimal(value)


def _to_decimal(value: Any) -> Any:
    """An ``Amount`` in: an integer or a plain decimal string; ``Decimal`` from our own code."""
    if isinstance(value, bool):
        raise ValueError("amounts must be an integer or a decimal string, not true or false")
    if isinstance(value, (float, JsonNumber)):
        raise ValueError("amounts must be an integer or a decimal string, never a JSON float")
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, str):
        return _from_string(value)
    return value


def _bounded(value: Decimal) -> Decimal:
    """Finite, not negative, at most ``ABSOLUTE_MAX_AMOUNT`` and ``MAX_DECIMAL_PLACES`` decimals."""
    if not value.is_finite():
        raise ValueError("amounts must be finite")
    if value < 0:
        raise ValueError("amounts must not be negative")
    if value > ABSOLUTE_MAX_AMOUNT:
        raise ValueError(f"amount {value:f} is above the largest accepted amount {ABSOLUTE_MAX_AMOUNT:f}")
    exponent = value.as_tuple().exponent
    if isinstance(exponent, int) and -exponent > MAX_DECIMAL_PLACES:
        raise ValueError(f"amount {value:f} has more than {MAX_DECIMAL_PLACES} decimal places")
    # "-0" from arithmetic would serialise as "-0", which no amount parser accepts.
    return value.copy_abs() if value.is_zero() else value


def _amount_string(value: Decimal) -> str:
    return format(value, "f")


#: The JSON Schema of an amount as our API takes it (the OpenAPI document shows this).
_AMOUNT_SCHEMA: dict[str, Any] = {
    "anyOf": [
        {"type": "integer", "minimum": 0, "maximum": int(ABSOLUTE_MAX_AMOUNT)},
        {"type": "string", "pattern": AMOUNT_PATTERN, "examples": ["150000", "1499.50"]},
    ],
    "description": "an integer or a plain decimal string, never a JSON float; at most the "
    "currency's maximum (IDR 10000000000, VND 100000000000, others 100000000)",
}

#: An amount of money: int or decimal string in, ``Decimal`` inside, decimal string out.
Amount = Annotated[
    Decimal,
    BeforeValidator(_to_decimal),
    AfterValidator(_bounded),
    PlainSerializer(_amount_string, return_type=str, when_used="json"),
    WithJsonSchema(_AMOUNT_SCHEMA, mode="validation"),
]


def _provider_decimal(value: Any) -> Any:
    if isinstance(value, JsonNumber):
        return Decimal(value)
    if isinstance(value, float):
        raise ValueError("amounts must be decoded exactly (parse_float=JsonNumber), never as float")
    return _to_decimal(value)


#: A provider's amount inside our own events: a JSON number decoded exactly, or (as our canonical
#: bodies carry it) a decimal string. Callback bodies use the stricter ``CallbackAmount``.
ProviderAmount = Annotated[
    Decimal,
    BeforeValidator(_provider_decimal),
    AfterValidator(_bounded),
    PlainSerializer(_amount_string, return_type=str, when_used="json"),
]


def _callback_number(value: Any) -> Any:
    """Xendit sends amounts as JSON numbers; a string there is not Xendit's documented shape.

    A number written with an exponent (``1e3``) is taken only when it is whole: Xendit writes
    fractions as plain decimals (``1499.5``), and a whole number cannot hide a precision surprise.
    """
    if isinstance(value, bool) or not isinstance(value, (int, JsonNumber)):
        if isinstance(value, str):
            raise ValueError("amounts in a callback must be JSON numbers, not strings")
        if isinstance(value, float):
            raise ValueError("amounts must be decoded exactly (parse_float=JsonNumber), never as float")
        raise ValueError("amounts in a callback must be JSON numbers")
    if isinstance(value, int):
        return Decimal(value)
    number = Decimal(value)
    if value.has_exponent:
        if not number.is_finite() or number != number.to_integral_value():
            raise ValueError(f"{value} written with an exponent must be a whole number")
        if abs(number) > ABSOLUTE_MAX_AMOUNT:  # negative ones too: quantize would overflow on them
            raise ValueError(
                f"amount {number:E} is beyond the largest accepted amount {ABSOLUTE_MAX_AMOUNT:f}"
            )
        return number.quantize(Decimal(1))  # 1E+3 -> 1000: the plain form every reader takes
    return number


#: An amount in a provider's callback body: a JSON number (never a string), decoded exactly.
CallbackAmount = Annotated[
    Decimal,
    BeforeValidator(_callback_number),
    AfterValidator(_bounded),
    PlainSerializer(_amount_string, return_type=str, when_used="json"),
    WithJsonSchema({"type": "number", "minimum": 0, "maximum": int(ABSOLUTE_MAX_AMOUNT)}, mode="validation"),
]


def decimal_places(amount: Decimal) -> int:
    exponent = amount.normalize().as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0


def check_maximum(amount: Decimal, currency: str, field: str = "amount") -> None:
    """Raise ``ValueError`` if ``amount`` is above ``currency``'s ``MAX_AMOUNT``."""
    limit = MAX_AMOUNT[currency]
    if amount > limit:
        raise ValueError(f"{field} {amount:f} is above the {currency} maximum {limit:f}")


def check_precision(amount: Decimal, currency: str, field: str = "amount") -> None:
    """Raise ``ValueError`` if ``amount`` has more decimals than ``currency`` accepts or is above
    its maximum: every check of an amount against its currency wants both."""
    allowed = ACCEPTED_DECIMALS[currency]
    if decimal_places(amount) > allowed:
        raise ValueError(f"{field} {amount} has more than {allowed} decimal places for {currency}")
    check_maximum(amount, currency, field)


def to_minor_units(amount: Decimal, currency: str) -> int:
    """The amount in the currency's ISO minor unit as an integer (IDR 150000 → 15000000)."""
    scaled = amount.scaleb(ISO_EXPONENT[currency])
    if scaled != scaled.to_integral_value():
        raise ValueError(f"{amount} {currency} is not a whole number of minor units")
    return int(scaled)


def from_minor_units(minor: int, currency: str) -> Decimal:
    return Decimal(minor).scaleb(-ISO_EXPONENT[currency])
