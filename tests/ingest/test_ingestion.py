"""Bar ingestion asks providers only for the trading minutes not yet stored, stores them exactly as an import
does, refuses what an import refuses, and announces new bars after they are committed."""
from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings

from cohorts.models import Bar, Instrument
from cohorts.selectors.market import market_overview_expire
from cohorts.services.ingestion import BarsSyncError, bars_group, bars_ingest_latest, bars_sync
from tests.ingest.conftest import FakeSource, bar_at, utc

pytestmark = pytest.mark.django_db

# New Year's Day 2024 (a holiday), then two full XNYS sessions: 14:30–21:00 UTC on 2 and 3 January.
HOLIDAY_AND_TWO_SESSIONS = {"start": utc("2024-01-01T00:00"), "end": utc("2024-01-04T00:00")}
SESSIONS = [(utc("2024-01-02T14:30"), utc("2024-01-02T21:00")), (utc("2024-01-03T14:30"), utc("2024-01-03T21:00"))]


@pytest.fixture
def spy():
    return Instrument.objects.create(symbol="SPY", calendar="XNYS", asset_class="equity")


def stored_values(symbol: str) -> list[tuple]:
    return list(Bar.objects.filter(instrument__symbol=symbol).order_by("ts")
                .values_list("ts", "open", "high", "low", "close", "volume"))


def test_stores_the_providers_exact_decimal_values():
    source = FakeSource()
    report = bars_sync(symbol="BTC-USDT", start=utc("2024-01-02T10:00"), end=utc("2024-01-02T10:05"), source=source)
    assert report.stored == 5 and report.provider == "fake"
    expected = [bar_at(utc("2024-01-02T10:00") + timedelta(minutes=i)) for i in range(5)]
    assert stored_values("BTC-USDT") == [(b.ts, b.open, b.high, b.low, b.close, b.volume) for b in expected]
    assert str(Bar.objects.first().volume) == "1234.00012345"


def test_asks_only_for_the_sessions_of_an_exchange_calendar(spy):
    source = FakeSource()
    report = bars_sync(symbol="SPY", source=source, **HOLIDAY_AND_TWO_SESSIONS)
    assert [(start, end) for _, start, end in source.calls] == SESSIONS  # no request for the holiday or nights
    assert (report.stored, report.already_present, report.closed_minutes) == (780, 0, 3 * 1440 - 780)
    assert Bar.objects.filter(instrument=spy).count() == 780


def test_a_second_run_asks_for_nothing_and_stores_nothing(spy):
    bars_sync(symbol="SPY", source=FakeSource(), **HOLIDAY_AND_TWO_SESSIONS)
    again = FakeSource()
    report = bars_sync(symbol="SPY", source=again, **HOLIDAY_AND_TWO_SESSIONS)
    assert again.calls == [] and (report.stored, report.already_present, report.requests) == (0, 780, 0)


def test_only_the_missing_minutes_are_asked_for(spy):
    first_day = FakeSource()
    bars_sync(symbol="SPY", source=first_day, start=utc("2024-01-02T00:00"), end=utc("2024-01-03T00:00"))
    source = FakeSource()
    report = bars_sync(symbol="SPY", source=source, **HOLIDAY_AND_TWO_SESSIONS)
    assert [(start, end) for _, start, end in source.calls] == SESSIONS[1:]
    assert (report.stored, report.already_present) == (390, 390)


def test_minutes_without_a_trade_are_counted_not_invented(spy):
    quiet = FakeSource(has_bar=lambda ts: ts.minute % 2 == 0)
    report = bars_sync(symbol="SPY", source=quiet, start=SESSIONS[0][0], end=SESSIONS[0][0] + timedelta(minutes=10))
    assert (report.stored, report.not_served) == (5, 5)


def test_a_bar_that_differs_from_the_stored_one_is_refused_and_nothing_is_written(spy):
    start, end = SESSIONS[0][0], SESSIONS[0][0] + timedelta(minutes=30)
    bars_sync(symbol="SPY", source=FakeSource(has_bar=lambda ts: ts.minute % 3 == 0), start=start, end=end)
    before = stored_values("SPY")
    with pytest.raises(BarsSyncError) as refused:
        bars_sync(symbol="SPY", source=FakeSource(shift="0.01"), start=start, end=end)
    message = refused.value.message
    assert message.startswith("SPY 2024-01-02T14:31Z .. 2024-01-02T15:00Z: fake: the bar of 2024-01-02T14:33Z was "
                              "refused: open 188.00345678 differs from the stored bar of 2024-01-02T14:33Z")
    assert stored_values("SPY") == before  # not even the new minutes of that request


def test_an_invalid_provider_bar_is_refused_as_an_import_refuses_it():
    class HighBelowOpen(FakeSource):
        def bars(self, symbol, start, end):
            bars = super().bars(symbol, start, end)
            bad = bars[1]
            bars[1] = type(bad)(ts=bad.ts, open=bad.open, high=bad.open - 1, low=bad.low, close=bad.close,
                                volume=bad.volume)
            return bars

    with pytest.raises(BarsSyncError, match=r"the bar of 2024-01-02T10:01Z was refused: high .* below max"):
        bars_sync(symbol="ETH-USDT", source=HighBelowOpen(), start=utc("2024-01-02T10:00"), end=utc("2024-01-02T10:05"))
    assert not Bar.objects.exists()


def test_a_provider_error_names_symbol_range_and_reason_and_keeps_earlier_days(spy):
    failing = FakeSource(fail_on=SESSIONS[1][0])
    with pytest.raises(BarsSyncError) as refused:
        bars_sync(symbol="SPY", source=failing, **HOLIDAY_AND_TWO_SESSIONS)
    assert refused.value.message == (
        "SPY 2024-01-03T14:30Z .. 2024-01-03T21:00Z: fake: 429 Too Many Requests: API rate limit exceeded "
        "(retry after 30 s). Nothing of this range was stored (390 bar(s) of earlier minutes were stored).")
    assert Bar.objects.filter(instrument=spy, ts__gte=SESSIONS[1][0]).count() == 0
    assert Bar.objects.filter(instrument=spy).count() == 390
    resumed = FakeSource()
    bars_sync(symbol="SPY", source=resumed, **HOLIDAY_AND_TWO_SESSIONS)
    assert [(start, end) for _, start, end in resumed.calls] == SESSIONS[1:]


def receive(layer, channel, timeout: float):
    async def wait():
        return await asyncio.wait_for(layer.receive(channel), timeout)

    return async_to_sync(wait)()


def test_new_bars_are_broadcast_once_committed(django_capture_on_commit_callbacks):
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(bars_group("BTC-USDT"), channel)
    source = FakeSource(chain=True)
    with django_capture_on_commit_callbacks() as callbacks:
        bars_sync(symbol="BTC-USDT", start=utc("2024-01-02T10:00"), end=utc("2024-01-02T10:03"), source=source)
    broadcasts = [c for c in callbacks if c is not market_overview_expire]  # the market page's counts expire too
    assert len(broadcasts) == 1  # held until the transaction commits
    broadcasts[0]()  # the commit
    last = bar_at(utc("2024-01-02T10:02"))
    assert receive(layer, channel, 5) == {"type": "live.event", "event": "bars.new", "payload": {
        "symbol": "BTC-USDT", "count": 3, "provider": "fake-chain", "ts": "2024-01-02T10:02:00+00:00",
        "open": str(last.open), "high": str(last.high), "low": str(last.low), "close": str(last.close),
        "volume": "1234.00012345"}}


def test_nothing_is_broadcast_when_nothing_is_new_or_the_request_fails(django_capture_on_commit_callbacks, spy):
    with django_capture_on_commit_callbacks() as callbacks:
        bars_sync(symbol="SPY", source=FakeSource(), start=utc("2024-01-01T00:00"), end=utc("2024-01-02T00:00"))
        with pytest.raises(BarsSyncError):
            bars_sync(symbol="SPY", source=FakeSource(fail_on=SESSIONS[0][0]), **HOLIDAY_AND_TWO_SESSIONS)
    assert [c for c in callbacks if c is not market_overview_expire] == []


def test_minute_task_fetches_from_the_last_stored_bar_of_each_ingested_symbol(market_data, spy):
    from cohorts.tasks import ingest_latest_bars

    bars_sync(symbol="BTC-USDT", source=FakeSource(), start=utc("2024-01-02T10:00"), end=utc("2024-01-02T10:05"))
    Instrument.objects.filter(symbol="BTC-USDT").update(ingest=True)
    Instrument.objects.create(symbol="ETH-USDT", ingest=True)  # no bars yet: the lookback
    source = market_data(FakeSource())
    now = utc("2024-01-02T10:07") + timedelta(seconds=42)
    import time_machine

    with time_machine.travel(now, tick=False):
        result = ingest_latest_bars()
    assert result == {"BTC-USDT": 2, "ETH-USDT": settings.INGEST_LOOKBACK_MINUTES}
    assert {(s, a, b) for s, a, b in source.calls} == {
        ("BTC-USDT", utc("2024-01-02T10:05"), utc("2024-01-02T10:07")),  # the current minute is not over yet
        ("ETH-USDT", utc("2024-01-02T10:07") - timedelta(minutes=settings.INGEST_LOOKBACK_MINUTES),
         utc("2024-01-02T10:07")),
    }  # SPY is not marked for ingestion


def test_minute_task_reports_a_failing_symbol_and_goes_on(spy):
    Instrument.objects.filter(pk=spy.pk).update(ingest=True)
    Instrument.objects.create(symbol="BTC-USDT", ingest=True)
    now = utc("2024-01-02T15:00")
    failing = FakeSource(fail_on=now - timedelta(minutes=1))
    result = bars_ingest_latest(source=failing, now=now)
    assert result["SPY"].startswith("SPY 2024-01-02T14:30Z .. 2024-01-02T15:00Z: fake: 429")
    assert result["BTC-USDT"].startswith("BTC-USDT 2024-01-02T14:00Z .. 2024-01-02T15:00Z: fake: 429")


def test_minute_task_asks_nothing_while_the_exchange_is_closed(spy):
    Instrument.objects.filter(pk=spy.pk).update(ingest=True)
    source = FakeSource()
    assert bars_ingest_latest(source=source, now=utc("2024-01-06T15:00")) == {"SPY": 0}  # a Saturday
    assert source.calls == []


def test_beat_schedule_runs_the_task_every_minute():
    entry = next(e for e in settings.CELERY_BEAT_SCHEDULE.values() if e["task"] == "cohorts.tasks.ingest_latest_bars")
    assert entry["schedule"].minute == set(range(60)) and entry["options"]["expires"] < 60
    from neolight.celery import app

    app.loader.import_default_modules()
    assert "cohorts.tasks.ingest_latest_bars" in app.tasks
