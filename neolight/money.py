"""Money: Decimal everywhere, one field definition, one rounding rule, one crossing from floats.

Amounts are US dollars with 8 decimal places (crypto quantities need them); values shown to
people are rounded to cents with `to_cents`. Engine floats enter the ledger only through
`money_from_float`.
"""
from __future__ import annotations

import math
from decimal import ROUND_HALF_EVEN, Decimal

import numpy as np
from django.db import models

MONEY_DIGITS = 20
MONEY_PLACES = 8
QUANTUM = Decimal(1).scaleb(-MONEY_PLACES)  # 0.00000001
CENT = Decimal("0.01")
MONEY_DECIMAL = {"max_digits": MONEY_DIGITS, "decimal_places": MONEY_PLACES}  # for any DecimalField holding money


def MoneyField(**kwargs) -> models.DecimalField:  # noqa: N802 (reads as a field class)
    """The one model field for amounts, prices and quantities: NUMERIC(20, 8)."""
    return models.DecimalField(**MONEY_DECIMAL, **kwargs)


def quantize(value: Decimal) -> Decimal:
    """Rounds to the stored precision (8 places, banker's rounding)."""
    return value.quantize(QUANTUM, rounding=ROUND_HALF_EVEN)


def to_cents(value: Decimal) -> Decimal:
    """Rounds to whole cents for display and reconciliation."""
    return value.quantize(CENT, rounding=ROUND_HALF_EVEN)


def money_from_float(value: float) -> Decimal:
    """Converts an engine float to Decimal money at the stored precision.

    Goes through the float's shortest round-trip text (`repr`), so 0.1 becomes 0.1 and not
    0.1000000000000000055…; refuses NaN and infinities, which are never money.
    """
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(f"not a finite amount: {value!r}")
    return quantize(Decimal(repr(number)))


def units_from_floats(values: np.ndarray) -> np.ndarray:
    """`money_from_float` of each value, vectorised, as int64 counts of the quantum (1e-8).

    Exact: a value whose scaled float lies within a few ulps of a rounding tie (or is too large for
    the shortcut) goes through `money_from_float` itself; the rest round the same way in numpy.
    """
    values = np.asarray(values, dtype=np.float64)
    scaled = values * 10.0 ** MONEY_PLACES
    units = np.rint(scaled)
    with np.errstate(invalid="ignore"):
        distance = np.abs(np.abs(scaled - np.floor(scaled)) - 0.5)
        unsure = ~(np.abs(scaled) < 2.0 ** 50) | (distance <= 4 * np.spacing(np.abs(scaled)))
    result = units.astype(np.int64, copy=False) if not unsure.any() else np.where(unsure, 0, units).astype(np.int64)
    for index in np.flatnonzero(unsure):  # flat positions: `values` may have any shape
        result.flat[index] = int(money_from_float(values.flat[index]).scaleb(MONEY_PLACES))
    return result


def from_units(units: int) -> Decimal:
    """An integer count of the quantum (1e-8) as Decimal money."""
    return Decimal(int(units)).scaleb(-MONEY_PLACES)
