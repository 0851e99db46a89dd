"""CSV cells safe to open in a spreadsheet (CSV/formula injection, OWASP).

Text that starts with =, +, -, @, a tab or a carriage return is run as a formula by Excel, LibreOffice
and Google Sheets; such a cell gets a leading ' so it is shown as text. Numbers, including text that
is a plain number such as "-12.50", are left as they are so they stay numbers.
"""
from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
PLAIN_NUMBER = re.compile(r"^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$")


def csv_cell(value: Any) -> Any:
    """`value` ready for csv.writer: formula-like text quoted with a leading ', anything else unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_START) and not PLAIN_NUMBER.match(value):
        return "'" + value
    return value


def csv_row(values: Iterable[Any]) -> list[Any]:
    """Every cell of a row through `csv_cell`."""
    return [csv_cell(value) for value in values]
