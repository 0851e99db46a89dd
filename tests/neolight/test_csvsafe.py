"""CSV cells: text a spreadsheet would evaluate gets a leading quote; numbers stay numbers."""
from decimal import Decimal

import pytest

from neolight.csvsafe import csv_cell


@pytest.mark.parametrize("text", ["=1+1", "+SUM(A1:A9)", "-2+3", "@SUM(A1)", "\t=1", "\r=1", "-", "=", "- a note"])
def test_text_starting_like_a_formula_gets_a_leading_quote(text):
    assert csv_cell(text) == "'" + text


@pytest.mark.parametrize("value", ["-0.0123", "-12.50", "+7", "-1e-05", Decimal("-12.50"), -0.0123, -3, None, True,
                                   "BTC-USDT", "a = b", "", "note: -5%"])
def test_numbers_and_harmless_text_are_left_alone(value):
    assert csv_cell(value) == value
