"""Money: ``Decimal`` amounts, never floats, and the one rule for minor units.

Amounts travel as decimal strings in our JSON (``"150000"``, ``"1499.50"``). Our API accepts an
integer or a decimal string and refuses a JSON float, because a float has already lost precision by
the time we see it.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BeforeValidator, PlainSerializer

Currency = Literal["IDR", "PHP", "USD", "MYR", "THB", "VND"]
SUPPORTED_CURRENCIES: tuple[str, ...] = ("IDR", "PHP", "USD", "MYR", "THB", "VND")

#: ISO 4217 exponent: how many decimals the currency's minor unit has (IDR: sen, x100).
ISO_EXPONENT: dict[str, int] = {"IDR": 2, "PHP": 2, "USD": 2, "MYR": 2, "THB": 2, "VND": 0}

#: Decimals we accept in an amount. Xendit truncates IDR decimals, so an IDR amount with sen
#: would be billed differently from what the books say: refuse it at the door.
ACCEPTED_DECIMALS: dict[str, int] = {"IDR": 0, "PHP": 2, "USD": 2, "MYR": 2, "THB": 2, "VND": 0}


class JsonNumber(Decimal):
    """A JSON number with a fraction or exponent, decoded exactly (``json.loads(parse_float=JsonNumber)``).

    Our API refuses it in an ``Amount`` (a client that sends ``1.5`` has a float somewhere);
    a ``ProviderAmount`` accepts it, because Xendit sends amounts such as ``1499.5`` as numbers.
    """


def _to_decimal(value: Any) -> Any:
    if isinstance(value, (bool, float, JsonNumber)):
        raise ValueError("amounts must be an integer or a decimal string, never a JSON float")
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, str):
        try:
            parsed = Decimal(value.strip())
        except InvalidOperation:
            raise ValueError(f"{value!r} is not a decimal number") from None
        if not parsed.is_finite():
            raise ValueError("amounts must be finite")
        return parsed
    return value


def _non_negative(value: Decimal) -> Decimal:
    if value < 0:
        raise ValueError("amounts must not be negative")
    return value


#: An amount of money: int or decimal string in, ``Decimal`` inside, decimal string out.
Amount = Annotated[
    Decimal,
    BeforeValidator(_to_decimal),
    AfterValidator(_non_negative),
    PlainSerializer(lambda d: format(d, "f"), return_type=str, when_used="json"),
]


def _provider_decimal(value: Any) -> Any:
    if isinstance(value, JsonNumber):
        return Decimal(value)
    if isinstance(value, float):
        raise ValueError("amounts must be decoded exactly (parse_float=JsonNumber), never as float")
    return _to_decimal(value)


#: An amount as a provider sends it: a JSON number decoded exactly is accepted too.
ProviderAmount = Annotated[
    Decimal,
    BeforeValidator(_provider_decimal),
    AfterValidator(_non_negative),
    PlainSerializer(lambda d: format(d, "f"), return_type=str, when_used="json"),
]


def decimal_places(amount: Decimal) -> int:
    exponent = amount.normalize().as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0


def check_precision(amount: Decimal, currency: str, field: str = "amount") -> None:
    """Raise ``ValueError`` if ``amount`` has more decimals than ``currency`` accepts."""
    allowed = ACCEPTED_DECIMALS[currency]
    if decimal_places(amount) > allowed:
        raise ValueError(f"{field} {amount} has more than {allowed} decimal places for {currency}")


def to_minor_units(amount: Decimal, currency: str) -> int:
    """The amount in the currency's ISO minor unit as an integer (IDR 150000 → 15000000)."""
    scaled = amount.scaleb(ISO_EXPONENT[currency])
    if scaled != scaled.to_integral_value():
        raise ValueError(f"{amount} {currency} is not a whole number of minor units")
    return int(scaled)


def from_minor_units(minor: int, currency: str) -> Decimal:
    return Decimal(minor).scaleb(-ISO_EXPONENT[currency])
