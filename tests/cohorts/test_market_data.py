"""The bundled data set, aligned numpy windows, resampling and the synthetic generator."""
from __future__ import annotations

import json
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from io import StringIO

import numpy as np
import pytest
from django.core.management import CommandError, call_command

from cohorts.models import Bar
from cohorts.selectors.market import bar_window
from neolight.errors import ApplicationError
from tests.conftest import CRYPTO

UTC = UTC
DAY1 = datetime(2021, 5, 6, tzinfo=UTC)


@pytest.mark.django_db
def test_bundled_data_loads_14_aligned_days_per_crypto_pair():
    out = StringIO()
    call_command("load_sample_data", "--json", stdout=out)
    rows = {r["symbol"]: r for r in map(json.loads, out.getvalue().splitlines())}

    assert set(rows) == {*CRYPTO, "SPY"}
    for symbol in CRYPTO:
        assert rows[symbol]["rows"] == 20160
        assert (rows[symbol]["first"], rows[symbol]["last"]) == ("2021-05-06T00:00:00Z", "2021-05-19T23:59:00Z")
    assert rows["SPY"]["rows"] == 14180
    window = bar_window(symbols=CRYPTO, start=DAY1, end=DAY1 + timedelta(days=14))
    assert window.shape == (20160, 6)
    assert window.present.all()  # every pair has a bar at every minute: the timestamps are aligned
    assert np.all(np.diff(window.timestamps) == np.timedelta64(60, "s"))
    # Spot checks against known prices of the bundled data.
    btc, eth = window.symbols.index("BTC-USDT"), window.symbols.index("ETH-USDT")
    assert window.low[:, btc].min() == 30000.0
    assert window.high[:, eth].max() == 4372.72

    again = StringIO()
    call_command("load_sample_data", stdout=again)
    assert Bar.objects.count() == 6 * 20160 + 14180


@pytest.mark.django_db
def test_window_is_aligned_float_arrays_in_canonical_symbol_order(crypto_day):
    window = bar_window(symbols=["ETH-USDT", "BTC-USDT"], start=DAY1, end=DAY1 + timedelta(hours=1))

    assert window.symbols == ("BTC-USDT", "ETH-USDT")  # sorted, whatever order they are named in
    assert window.close.shape == (60, 2) and window.close.dtype == np.float64
    assert window.close.flags.c_contiguous
    assert window.timestamps[0] == np.datetime64("2021-05-06T00:00:00")
    assert window.open[0, 0] == 57436.11 and window.close[0, 0] == 57445.5  # first bundled BTC bar
    assert window.open[0, 1] == 3524.33


@pytest.mark.django_db
def test_window_end_is_exclusive_and_empty_window_is_empty(crypto_day):
    assert bar_window(symbols=["BTC-USDT"], start=DAY1, end=DAY1 + timedelta(minutes=1)).shape == (1, 1)
    empty = bar_window(symbols=["BTC-USDT"], start=DAY1 - timedelta(days=1), end=DAY1)
    assert empty.shape == (0, 1)


@pytest.mark.django_db
def test_window_refuses_unknown_symbols_and_timeframes(crypto_day):
    with pytest.raises(ApplicationError, match="Unknown symbol"):
        bar_window(symbols=["BTC-USDT", "NOPE"], start=DAY1, end=DAY1 + timedelta(hours=1))
    with pytest.raises(ApplicationError, match="Unknown timeframe"):
        bar_window(symbols=["BTC-USDT"], start=DAY1, end=DAY1 + timedelta(hours=1), timeframe="2m")


@pytest.mark.django_db
def test_missing_minute_becomes_a_flat_bar_at_the_previous_close(crypto_day):
    gap = DAY1 + timedelta(minutes=5)
    Bar.objects.filter(instrument__symbol="ETH-USDT", ts=gap).delete()

    window = bar_window(symbols=["BTC-USDT", "ETH-USDT"], start=DAY1, end=DAY1 + timedelta(minutes=10))

    assert window.shape == (10, 2)
    assert not window.present[5, 1] and window.present[5, 0] and window.present[[4, 6], 1].all()
    prev_close = window.close[4, 1]
    assert (window.open[5, 1], window.high[5, 1], window.low[5, 1], window.close[5, 1]) == (prev_close,) * 4
    assert window.volume[5, 1] == 0.0


def reference_resample(rows: list[tuple], minutes: int) -> list[tuple]:
    """OHLCV buckets computed by hand: first open, max high, min low, last close, summed volume."""
    buckets: dict[datetime, list[tuple]] = defaultdict(list)
    for row in rows:
        ts = row[0]
        start = ts - timedelta(minutes=(ts.hour * 60 + ts.minute) % minutes)
        buckets[start].append(row)
    return [
        (start, group[0][1], max(r[2] for r in group), min(r[3] for r in group), group[-1][4], sum(r[5] for r in group))
        for start, group in sorted(buckets.items())
    ]


@pytest.mark.django_db
@pytest.mark.parametrize(("timeframe", "minutes"), [("5m", 5), ("15m", 15), ("1h", 60)])
def test_resampled_window_matches_a_hand_computed_reference(crypto_day, timeframe, minutes):
    end = DAY1 + timedelta(hours=6)
    window = bar_window(symbols=CRYPTO, start=DAY1, end=end, timeframe=timeframe)

    for column, symbol in enumerate(window.symbols):
        rows = list(Bar.objects.filter(instrument__symbol=symbol, ts__lt=end).order_by("ts")
                    .values_list("ts", "open", "high", "low", "close", "volume"))
        expected = reference_resample(rows, minutes)
        assert len(window.timestamps) == len(expected) == 6 * 60 // minutes
        got = np.column_stack([window.open[:, column], window.high[:, column], window.low[:, column],
                               window.close[:, column], window.volume[:, column]])
        want = np.array([[float(v) for v in row[1:]] for row in expected])
        np.testing.assert_allclose(got, want, rtol=1e-12)


@pytest.mark.django_db
def test_generate_bars_is_seeded_valid_and_idempotent():
    call_command("generate_bars", "--symbols", "3", "--days", "1", "--seed", "7", "--regimes", "--jumps",
                 stdout=StringIO())
    first = list(Bar.objects.order_by("instrument__symbol", "ts").values_list("instrument__symbol", "close"))
    assert len(first) == 3 * 1440
    assert {s for s, _ in first} == {"SYN001", "SYN002", "SYN003"}
    for bar in Bar.objects.all()[:2000]:
        assert bar.high >= max(bar.open, bar.close) and bar.low <= min(bar.open, bar.close) and bar.low > 0

    call_command("generate_bars", "--symbols", "3", "--days", "1", "--seed", "7", "--regimes", "--jumps",
                 stdout=StringIO())
    assert Bar.objects.count() == 3 * 1440

    call_command("generate_bars", "--symbols", "1", "--days", "1", "--seed", "8", "--prefix", "ALT",
                 stdout=StringIO())
    other = list(Bar.objects.filter(instrument__symbol="ALT001").order_by("ts").values_list("close", flat=True))
    assert other != [c for s, c in first if s == "SYN001"]
    assert all(isinstance(c, Decimal) for c in other)


@pytest.mark.django_db
def test_generate_bars_refuses_out_of_range_sizes():
    with pytest.raises(CommandError, match="--symbols must be between"):
        call_command("generate_bars", "--symbols", "0", "--days", "1")
    assert not Bar.objects.exists()


@pytest.mark.django_db
def test_the_market_overview_is_served_from_the_cache_until_bars_or_calendars_change(tmp_path):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from cohorts.selectors.market import instrument_overview
    from cohorts.services.market import bars_import_files, instrument_calendar_set

    first = tmp_path / "SPY.csv"
    first.write_text("timestamp,open,high,low,close,volume\n2024-01-02T14:30:00Z,470,471,469,470.5,1000\n")
    bars_import_files(paths=[first])
    assert [(i.symbol, i.bar_count) for i in instrument_overview()] == [("SPY", 1)]
    with CaptureQueriesContext(connection) as read_again:
        instrument_overview()
    assert len(read_again) == 0  # no bar counted twice

    more = tmp_path / "SPY-2.csv"
    more.write_text("timestamp,open,high,low,close,volume\n2024-01-02T14:31:00Z,470,471,469,470.5,1000\n")
    bars_import_files(paths=[more], symbol="SPY")
    assert [(i.symbol, i.bar_count) for i in instrument_overview()] == [("SPY", 2)]  # new bars: counted afresh

    instrument_calendar_set(instrument=instrument_overview()[0], calendar="XNYS", session=None)
    assert instrument_overview()[0].calendar == "XNYS"
