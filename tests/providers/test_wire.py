"""The helpers every HTTP adapter shares: Retry-After in both its forms, and Decimal only from text."""
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from email.utils import format_datetime

import pytest

from cohorts.providers.base import FailureKind, ProviderError
from cohorts.providers.wire import decimal_from, decimal_json, retry_after_seconds


def test_retry_after_reads_seconds_and_http_dates():
    assert retry_after_seconds("7") == 7
    assert retry_after_seconds(None) is None and retry_after_seconds("soon") is None
    in_a_minute = format_datetime(datetime.now(UTC) + timedelta(seconds=60), usegmt=True)
    assert 55 <= retry_after_seconds(in_a_minute) <= 60


def test_json_numbers_keep_their_digits():
    body = decimal_json("x", '{"p": 0.1, "v": 100, "big": 43000.123456789012345678}')
    assert body == {"p": Decimal("0.1"), "v": 100, "big": Decimal("43000.123456789012345678")}


@pytest.mark.parametrize("value", [1.5, None, True, "abc", "NaN", [1]])
def test_a_float_or_non_number_is_refused_as_bad_data(value):
    with pytest.raises(ProviderError) as caught:
        decimal_from("x", value, "the price")
    assert caught.value.kind == FailureKind.BAD_DATA and caught.value.message.startswith("x: the price is ")
