"""Exact money conversion between integer minor units and vendor units.

Square and Clover speak integer cents; Toast, Loyverse, Epos Now and Revel
speak decimal currency units. Floats never carry money here: decimals go
through `Decimal` and must convert without rounding, or the call fails loudly.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

# ISO 4217 minor-unit exponents that differ from 2.
_EXPONENTS = {
    "BIF": 0, "CLP": 0, "DJF": 0, "GNF": 0, "ISK": 0, "JPY": 0, "KMF": 0, "KRW": 0, "PYG": 0,
    "RWF": 0, "UGX": 0, "UYI": 0, "VND": 0, "VUV": 0, "XAF": 0, "XOF": 0, "XPF": 0,
    "BHD": 3, "IQD": 3, "JOD": 3, "KWD": 3, "LYD": 3, "OMR": 3, "TND": 3,
}


class MoneyError(ValueError):
    pass


def exponent(currency: str) -> int:
    return _EXPONENTS.get(currency.upper(), 2)


def to_decimal(minor: int, currency: str) -> Decimal:
    """1299 USD -> Decimal('12.99'); 500 JPY -> Decimal('500')."""
    if isinstance(minor, bool) or not isinstance(minor, int):
        raise MoneyError(f"minor units must be an int, got {minor!r}")
    return Decimal(minor).scaleb(-exponent(currency))


def from_decimal(value: object, currency: str) -> int:
    """A vendor amount (number or string) -> integer minor units, exactly.

    JSON numbers should be parsed with `parse_float=Decimal`; a float that is
    passed anyway goes through its shortest repr ('12.99'), never its binary
    expansion.
    """
    if isinstance(value, bool) or value is None:
        raise MoneyError(f"not an amount: {value!r}")
    try:
        d = Decimal(repr(value)) if isinstance(value, float) else Decimal(str(value))
    except InvalidOperation as exc:
        raise MoneyError(f"not an amount: {value!r}") from exc
    if not d.is_finite():
        raise MoneyError(f"not an amount: {value!r}")
    scaled = d.scaleb(exponent(currency))
    if scaled != scaled.to_integral_value():
        raise MoneyError(f"{value!r} {currency} has more than {exponent(currency)} decimal places")
    return int(scaled)


def json_number(minor: int, currency: str) -> Decimal:
    """The decimal to put in a JSON body (see `dumps`)."""
    return to_decimal(minor, currency)


def check_cents(value: object) -> int:
    """A vendor integer-cents amount, validated."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise MoneyError(f"expected integer minor units, got {value!r}")
    return value
