"""The one crossing from engine floats to Decimal money."""
from decimal import Decimal

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from neolight.money import from_units, money_from_float, quantize, to_cents, units_from_floats


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0.1, Decimal("0.1")),
        (1000.0, Decimal("1000")),
        (-12.345678915, Decimal("-12.34567892")),  # 9th place rounds, half to even
        (57445.5, Decimal("57445.5")),
        (1e-9, Decimal("0")),
        (123456789012.12345678, Decimal("123456789012.12346")),  # a float holds ~16 digits; no invented ones
    ],
)
def test_money_from_float_uses_the_shortest_text_of_the_float(value, expected):
    assert money_from_float(value) == expected
    assert money_from_float(value).as_tuple().exponent == -8


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), float("-inf")])
def test_money_from_float_refuses_non_finite_values(bad):
    with pytest.raises(ValueError, match="not a finite amount"):
        money_from_float(bad)


def test_rounding_helpers():
    assert quantize(Decimal("1.000000005")) == Decimal("1.00000000")  # half to even
    assert quantize(Decimal("1.000000015")) == Decimal("1.00000002")
    assert to_cents(Decimal("10.005")) == Decimal("10.00") and to_cents(Decimal("10.015")) == Decimal("10.02")


TIES = [0.125000005, 0.000000015, 2.5e-8, 1.000000005, 12345.678901235, 0.1 + 0.2, 1e-9, 5e-9, 123456789.123456785]


@given(st.lists(st.floats(min_value=-1e9, max_value=1e9, allow_nan=False, allow_infinity=False), max_size=50))
def test_units_from_floats_equals_money_from_float_everywhere(values):
    values = values + TIES + [-v for v in TIES]
    units = units_from_floats(np.array(values))
    assert [from_units(u) for u in units.tolist()] == [money_from_float(v) for v in values]


def test_units_from_floats_refuses_what_is_not_money():
    with pytest.raises(ValueError, match="not a finite amount"):
        units_from_floats(np.array([1.0, np.nan]))


def test_units_from_floats_of_a_grid_takes_ties_at_their_own_cell():
    """A table of equities (agents × bars) with a near-tie deep inside: the exact path writes that cell."""
    grid = np.full((3, 200), 100.0)
    grid[2, 162] = TIES[0]
    units = units_from_floats(grid)
    assert units.shape == grid.shape
    assert from_units(units[2, 162]) == money_from_float(TIES[0])
    assert (units[:, :162] == units_from_floats(np.array([100.0]))[0]).all()
