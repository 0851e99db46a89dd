"""How figures read for people: the one formatting vocabulary of pages, the admin and event sentences.

Money is dollars with thousands separators and cents ($1,234.56, −$12.34); ratios are fractions shown
as percents or multiples; quantities and prices keep their significant digits and drop trailing zeros;
a missing value is an em dash. Negative numbers take a real minus sign (−), as a trader's screen does.
Machine formats (the API, CSV) keep plain decimals: see `plain`.
"""
from __future__ import annotations

import json
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal, InvalidOperation
from numbers import Integral, Real

MISSING = "—"
MINUS = "−"
CENT = Decimal("0.01")
PRICE_DIGITS = 7  # 57,436.11 · 1.4799 · 0.33202
QUANTITY_DIGITS = 6  # 0.0174097 BTC · 1,500 DOGE
PARAM_DIGITS = 4  # entry_z=2.17
MAX_PLACES = 12  # nothing a page shows needs more decimal places


def as_decimal(value) -> Decimal | None:
    """A finite Decimal from a number or its text, or None (missing, not a number, infinite)."""
    if value is None or isinstance(value, bool):
        return None
    try:
        if isinstance(value, Decimal):
            number = value
        elif isinstance(value, Integral):
            number = Decimal(int(value))
        elif isinstance(value, (Real, str)):
            number = Decimal(str(float(value)) if isinstance(value, Real) else value.strip())
        else:
            return None
    except (InvalidOperation, ValueError, OverflowError):
        return None
    return number if number.is_finite() else None


def _signed(text: str, negative: bool, plus: bool = False) -> str:
    return (MINUS if negative else "+" if plus else "") + text


def money(value, places: int = 2) -> str:
    """1234.5 → '$1,234.50'; -12.34 → '−$12.34'; None → '—'."""
    number = as_decimal(value)
    if number is None:
        return MISSING
    rounded = number.quantize(Decimal(1).scaleb(-places), ROUND_HALF_UP)
    return _signed(f"${abs(rounded):,.{places}f}", rounded < 0)


def money_exact(value) -> str:
    """A ledger amount or fee to the sub-cent, at least cents, no trailing zeros: 0.00550000 → '$0.0055'."""
    number = as_decimal(value)
    if number is None:
        return MISSING
    places = min(MAX_PLACES, max(2, _places(number)))
    return money(number, places)


def percent(value, places: int = 2, *, plus: bool = False) -> str:
    """A fraction as a percent: 0.01234 → '1.23%' (with `plus`, '+1.23%' when above zero)."""
    number = as_decimal(value)
    if number is None:
        return MISSING
    rounded = (number * 100).quantize(Decimal(1).scaleb(-places), ROUND_HALF_UP)
    return _signed(f"{abs(rounded):,.{places}f}%", rounded < 0, plus=plus and rounded > 0)


def signed_percent(value, places: int = 2) -> str:
    """A fraction as a signed percent: 0.01234 → '+1.23%', -0.5 → '−50.00%', 0 → '0.00%'."""
    return percent(value, places, plus=True)


def from_percent(value) -> Decimal | None:
    """A figure in percent points as a fraction: 12.5 → 0.125."""
    number = as_decimal(value)
    return None if number is None else number / 100


def ratio(value, places: int = 2) -> str:
    """A multiple: 0.85 → '0.85×'."""
    number = as_decimal(value)
    if number is None:
        return MISSING
    rounded = number.quantize(Decimal(1).scaleb(-places), ROUND_HALF_UP)
    return _signed(f"{abs(rounded):,.{places}f}×", rounded < 0)


def number(value, places: int = 2) -> str:
    """A plain figure with fixed places (Sharpe, confidence): -1.2345 → '−1.23'."""
    figure = as_decimal(value)
    if figure is None:
        return MISSING
    rounded = figure.quantize(Decimal(1).scaleb(-places), ROUND_HALF_UP)
    return _signed(f"{abs(rounded):,.{places}f}", rounded < 0)


def significant(value, digits: int, grouped: bool = True) -> str:
    """`value` to `digits` significant digits (never fewer than its whole part), trailing zeros dropped."""
    figure = as_decimal(value)
    if figure is None:
        return MISSING
    if figure == 0:
        return "0"
    places = min(MAX_PLACES, max(0, digits - 1 - figure.adjusted()))
    rounded = figure.quantize(Decimal(1).scaleb(-places), ROUND_HALF_EVEN)
    text = f"{abs(rounded):{',' if grouped else ''}.{places}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return _signed(text, rounded < 0 and text != "0")


def quantity(value) -> str:
    """Units traded: 0.01740967 → '0.0174097'; 1500.00000000 → '1,500'."""
    return significant(value, QUANTITY_DIGITS)


def price(value) -> str:
    """A price: 57436.11000000 → '57,436.11'; 0.33202000 → '0.33202'."""
    return significant(value, PRICE_DIGITS)


def param_value(value) -> str:
    """One parameter's value: numbers to 4 significant digits, text and flags as they are."""
    if isinstance(value, bool) or not isinstance(value, (Real, Decimal)):
        return str(value)
    if isinstance(value, Integral):
        return str(int(value))
    return significant(value, PARAM_DIGITS, grouped=False).replace(MINUS, "-")


def params(value) -> str:
    """A genome's parameters as `name=value, …`: {'entry_z': 2.1698373821093018} → 'entry_z=2.17'."""
    if not isinstance(value, dict):
        return MISSING if value in (None, "") else str(value)
    return ", ".join(f"{name}={param_value(v)}" for name, v in value.items()) or MISSING


def plain(value) -> str:
    """A number as a machine reads it: plain decimal digits, never an exponent ('0E-8' → '0'); '' if missing."""
    figure = as_decimal(value)
    if figure is None:
        return ""
    if figure == 0:
        return "0"
    text = format(figure, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def cents(value) -> str:
    """An amount as a machine reads it, to the cent: Decimal('1000') → '1000.00'; '' if missing."""
    figure = as_decimal(value)
    return "" if figure is None else str(figure.quantize(CENT, ROUND_HALF_UP) + 0)


def params_json(value) -> str:
    """A genome's parameters as compact JSON with sorted keys (for CSV)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def _places(figure: Decimal) -> int:
    """Decimal places `figure` needs, trailing zeros dropped."""
    exponent = figure.normalize().as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0
