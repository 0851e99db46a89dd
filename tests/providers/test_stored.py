"""StoredBarsProvider: the bars NeoLight stores, through the same interface as the HTTP providers."""
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from cohorts.models import Bar, Instrument
from cohorts.providers.base import FailureKind, ProviderError
from cohorts.providers.stored import StoredBarsProvider

T0 = datetime(2026, 1, 2, 14, 30, tzinfo=UTC)


@pytest.fixture
def btc(db):
    instrument = Instrument.objects.create(symbol="BTC-USDT")
    closes = ["43000.12345678", "43001.5", "43002.25", "43003"]
    Bar.objects.bulk_create(
        Bar(instrument=instrument, ts=T0 + timedelta(minutes=i), open=Decimal(c), high=Decimal(c), low=Decimal(c),
            close=Decimal(c), volume=Decimal("0.00012345")) for i, c in enumerate(closes))
    return instrument


def provider():
    return StoredBarsProvider(credentials=None)


def test_bars_from_start_up_to_end_exactly(btc):
    bars = provider().bars("BTC-USDT", T0 + timedelta(minutes=1), T0 + timedelta(minutes=3))
    assert [bar.ts for bar in bars] == [T0 + timedelta(minutes=1), T0 + timedelta(minutes=2)]
    assert bars[0].close == Decimal("43001.5") and bars[0].volume == Decimal("0.00012345")
    assert provider().bars("BTC-USDT", T0 + timedelta(hours=1), T0 + timedelta(hours=2)) == []


def test_latest_quote_is_the_last_close_at_the_end_of_its_minute(btc):
    quote = provider().latest_quote("BTC-USDT")
    assert (quote.price, quote.ts, quote.provider, quote.symbol) == (
        Decimal("43003"), T0 + timedelta(minutes=4), "stored", "BTC-USDT")


def test_an_unknown_symbol_or_one_without_bars_is_not_found(db):
    with pytest.raises(ProviderError) as caught:
        provider().latest_quote("ETH-USDT")
    assert caught.value.kind == FailureKind.NOT_FOUND and caught.value.message == \
        "stored: no instrument ETH-USDT is stored"
    Instrument.objects.create(symbol="ETH-USDT")
    with pytest.raises(ProviderError) as caught:
        provider().latest_quote("ETH-USDT")
    assert caught.value.message == "stored: no stored bars of ETH-USDT"


def test_health_is_ok_while_the_database_answers(db):
    assert provider().health().ok
