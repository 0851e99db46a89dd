"""Trading calendars and sessions of instruments: the import option, the pure calendar maths, and the
synthetic generator's equity mode."""
from __future__ import annotations

import datetime as dt
from io import StringIO

import numpy as np
import pytest
from django.core.management import CommandError, call_command

from cohorts import calendars, synthetic
from cohorts.models import Bar, Instrument
from tests.conftest import sample_slice

SPY_FIRST_DAY = ["2011-01-03T09:00", "2011-01-03T14:29", "2011-01-03T14:30", "2011-01-03T20:59", "2011-01-03T21:00"]


def test_regular_session_is_the_exchanges_open_to_close_with_holidays_and_early_closes():
    ts = np.array(["2013-11-29T14:29", "2013-11-29T14:30", "2013-11-29T17:59", "2013-11-29T18:00",  # early close
                   "2013-11-28T15:00",  # Thanksgiving
                   "2013-11-30T15:00",  # Saturday
                   "2013-12-02T14:30", "2013-12-02T20:59", "2013-12-02T21:00"], dtype="datetime64[ns]")

    assert calendars.tradable(ts, "XNYS").tolist() == [False, True, True, False, False, False, True, True, False]
    assert calendars.tradable(ts, "XNYS", "extended").tolist() == [True, True, True, True, False, False, True, True,
                                                                   True]
    assert calendars.tradable(ts, "24/7").all()


def test_session_days_are_exchange_dates_and_utc_dates_for_crypto():
    ts = np.array(["2013-12-02T23:30", "2013-12-03T00:30"], dtype="datetime64[ns]")  # one New York evening

    assert len(set(calendars.day_numbers(ts, "XNYS"))) == 1
    assert len(set(calendars.day_numbers(ts, "24/7"))) == 2
    assert calendars.day_calendar(["XNYS", "XNYS"]) == "XNYS"
    assert calendars.day_calendar(["XNYS", "24/7"]) == "24/7"


def test_trading_days_skip_weekends_and_holidays():
    days = calendars.trading_days("XNYS", dt.date(2013, 10, 3), 5)

    assert days == [dt.date(2013, 10, 3), dt.date(2013, 10, 4), dt.date(2013, 10, 7), dt.date(2013, 10, 8),
                    dt.date(2013, 10, 9)]
    assert calendars.trading_days("24/7", dt.date(2013, 10, 5), 2) == [dt.date(2013, 10, 5), dt.date(2013, 10, 6)]


def test_minutes_per_year_follow_the_session():
    assert calendars.minutes_per_year("24/7") == 525_600
    assert calendars.minutes_per_year("XNYS") == 252 * 390
    assert calendars.minutes_per_year("XNYS", "extended") == 252 * 960


def test_unknown_calendar_and_session_are_refused():
    with pytest.raises(ValueError, match="Unknown calendar"):
        calendars.calendar_check("MOON")
    with pytest.raises(ValueError, match="Unknown session"):
        calendars.session_check("overnight")
    assert calendars.calendar_check("nyse") == "XNYS"


def test_synthetic_equity_mode_has_sessions_gaps_sparse_extended_hours_and_no_weekends():
    start = dt.datetime(2024, 1, 5)  # a Friday
    data = synthetic.generate(symbols=3, days=4, seed=1, equity_start=start)
    stamps = np.datetime64(start, "m") + data.minutes.astype("timedelta64[m]")
    regular = calendars.tradable(stamps, "XNYS")

    assert calendars.tradable(stamps, "XNYS", "extended").all()  # nothing overnight
    new_york_days = set(calendars.day_numbers(stamps, "XNYS").astype("datetime64[D]").astype(str))
    assert new_york_days == {"2024-01-04", "2024-01-05", "2024-01-08"}  # Thursday evening, Friday, Monday
    assert regular.sum() == 2 * 390
    assert data.present[regular].all()
    share = data.present[~regular].mean()
    assert 0.05 < share < 0.3  # sparse pre- and after-market minutes
    assert (data.high >= np.maximum(data.open, data.close)).all() and (data.low <= np.minimum(data.open, data.close)).all()
    again = synthetic.generate(symbols=3, days=4, seed=1, equity_start=start)
    np.testing.assert_array_equal(again.close, data.close)


def test_24_7_mode_is_unchanged_by_the_equity_mode():
    data = synthetic.generate(symbols=2, days=1, seed=3)

    assert data.present is None and len(data.minutes) == 1440


@pytest.mark.django_db
def test_import_sets_the_calendar_and_updates_a_stored_symbol(tmp_path):
    path = sample_slice(tmp_path, "SPY", 600)
    call_command("import_bars", str(path), stdout=StringIO())
    assert Instrument.objects.get(symbol="SPY").calendar == "24/7"

    call_command("import_bars", str(path), "--calendar", "xnys", "--session", "extended", stdout=StringIO())

    spy = Instrument.objects.get(symbol="SPY")
    assert (spy.calendar, spy.session) == ("XNYS", "extended")
    assert Bar.objects.filter(instrument=spy).count() == 600


@pytest.mark.django_db
def test_import_with_an_unknown_calendar_writes_nothing(tmp_path):
    with pytest.raises(CommandError, match="Unknown calendar"):
        call_command("import_bars", str(sample_slice(tmp_path, "SPY", 60)), "--calendar", "MOON", stdout=StringIO())
    assert not Instrument.objects.exists() and not Bar.objects.exists()


@pytest.mark.django_db
def test_instruments_api_carries_the_calendar(api, tmp_path):
    call_command("import_bars", str(sample_slice(tmp_path, "SPY", 60)), "--calendar", "XNYS", stdout=StringIO())

    rows = api.get("/api/market/instruments").json()
    rows = rows["results"] if isinstance(rows, dict) else rows

    assert [(r["symbol"], r["calendar"], r["session"]) for r in rows] == [("SPY", "XNYS", "regular")]


@pytest.mark.django_db
def test_generate_bars_equity_mode_stores_xnys_instruments():
    call_command("generate_bars", "--symbols", "2", "--days", "3", "--seed", "5", "--start", "2024-01-05",
                 "--equity", "--prefix", "EQ", stdout=StringIO())

    assert set(Instrument.objects.values_list("calendar", flat=True)) == {"XNYS"}
    stamps = np.array([np.datetime64(ts.replace(tzinfo=None), "ns") for ts in Bar.objects.values_list("ts", flat=True)])
    assert calendars.tradable(stamps, "XNYS", "extended").all()
