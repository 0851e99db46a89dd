"""manage.py sync_bars backfills from the providers and says, per symbol, what it stored and why not more."""
from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from cohorts.models import Bar, Instrument
from tests.ingest.conftest import FakeSource, utc

pytestmark = pytest.mark.django_db


def sync(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("sync_bars", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_backfills_each_symbol_and_reports_stored_present_and_closed(market_data):
    Instrument.objects.create(symbol="SPY", calendar="XNYS", asset_class="equity")
    source = market_data(FakeSource(chain=True))
    out, _ = sync("--symbols", "SPY,BTC-USDT", "--start", "2024-01-01", "--end", "2024-01-03T00:00Z")
    assert out.splitlines() == [
        "SPY: 390 bar(s) stored from fake-chain, 0 already present, 2490 minute(s) closed by the calendar, "
        "0 trading minute(s) without a bar (1 request(s)), 2024-01-01T00:00Z .. 2024-01-03T00:00Z",
        "BTC-USDT: 2880 bar(s) stored from fake-chain, 0 already present, 0 minute(s) closed by the calendar, "
        "0 trading minute(s) without a bar (2 request(s)), 2024-01-01T00:00Z .. 2024-01-03T00:00Z",
    ]
    assert len(source.calls) == 3
    out, _ = sync("--symbols", "SPY", "--start", "2024-01-01", "--end", "2024-01-03")
    assert out.startswith("SPY: 0 bar(s) stored, 390 already present")


def test_a_new_symbol_is_created_on_the_calendar_given(market_data):
    market_data(FakeSource())
    sync("--symbols", "qqq", "--start", "2024-01-02T14:00Z", "--end", "2024-01-02T15:00Z", "--calendar", "XNYS")
    qqq = Instrument.objects.get(symbol="QQQ")
    assert qqq.calendar == "XNYS" and Bar.objects.filter(instrument=qqq).count() == 30  # from the 14:30 open


def test_a_failing_symbol_is_reported_and_the_others_still_sync(market_data):
    market_data(FakeSource(fail_on=utc("2024-01-02T12:00")))
    Instrument.objects.create(symbol="SPY", calendar="XNYS")
    with pytest.raises(CommandError, match=r"1 of 2 symbol\(s\) not fully synced: BTC-USDT"):
        out, err = StringIO(), StringIO()
        try:
            call_command("sync_bars", "--symbols", "BTC-USDT,SPY", "--start", "2024-01-02T00:00Z", "--end",
                         "2024-01-03T00:00Z", stdout=out, stderr=err)
        finally:
            assert err.getvalue().startswith("BTC-USDT: BTC-USDT 2024-01-02T00:00Z .. 2024-01-03T00:00Z: fake: 429")
            assert out.getvalue().startswith("SPY: 390 bar(s) stored")
    assert not Bar.objects.filter(instrument__symbol="BTC-USDT").exists()


@pytest.mark.parametrize(("args", "message"), [
    (["--start", "yesterday"], "--start 'yesterday' is not an ISO-8601 date or time"),
    (["--start", "2024-01-02", "--end", "2024-13-01"], "--end '2024-13-01' is not an ISO-8601 date or time"),
    (["--start", "2024-01-02", "--end", "2024-01-01"], "--end 2024-01-01T00:00Z must be after --start 2024-01-02T00:00Z"),
    (["--start", "2024-01-02", "--symbols", "BAD SYMBOL"], "Invalid symbol 'BAD SYMBOL'"),
    (["--start", "2024-01-02", "--calendar", "MOON"], "Unknown calendar 'MOON'"),
])
def test_bad_arguments_are_refused_before_any_request(market_data, args, message):
    source = market_data(FakeSource())
    if "--symbols" not in args:
        args = ["--symbols", "SPY", *args]
    with pytest.raises(CommandError, match=message):
        sync(*args)
    assert source.calls == [] and not Bar.objects.exists()


def test_end_in_the_future_stops_at_the_current_minute(market_data):
    import time_machine

    source = market_data(FakeSource())
    with time_machine.travel(utc("2024-01-02T10:00:30"), tick=False):
        out, _ = sync("--symbols", "BTC-USDT", "--start", "2024-01-02T09:55Z", "--end", "2030-01-01")
    assert source.calls == [("BTC-USDT", utc("2024-01-02T09:55"), utc("2024-01-02T10:00"))]
    assert out.startswith("BTC-USDT: 5 bar(s) stored")


def test_an_unknown_provider_is_refused_by_name():
    with pytest.raises(CommandError, match="--provider nosuch: adapter nosuch cannot be imported"):
        sync("--symbols", "SPY", "--start", "2024-01-02", "--end", "2024-01-03", "--provider", "nosuch")
