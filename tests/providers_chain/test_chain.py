"""The quote chain: providers in order behind their breakers, the fresh cache, stale last-known answers, and a
clear error naming every provider when none can answer."""
from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from cohorts.providers.base import FailureKind, ProviderBar
from cohorts.providers.service import NoProviderAvailable, QuoteService
from tests.providers_chain.fakes import ScriptedProvider

DOWN, SLOW, LIMITED = FailureKind.UNAVAILABLE, FailureKind.TIMEOUT, FailureKind.RATE_LIMITED


def chain(alpaca=("101",), finnhub=("102",), twelvedata=("103",), **kw):
    providers = [ScriptedProvider("alpaca", *alpaca), ScriptedProvider("finnhub", *finnhub),
                 ScriptedProvider("twelvedata", *twelvedata)]
    return QuoteService(providers, **kw), providers


def test_the_first_provider_that_answers_serves_the_quote(clock):
    service, (alpaca, finnhub, twelvedata) = chain(alpaca=[DOWN])
    answer = service.quote("spy")
    assert (answer.symbol, answer.price, answer.provider, answer.cached, answer.stale) == ("SPY", Decimal("102"),
                                                                                         "finnhub", False, False)
    assert (answer.bid, answer.ask, answer.age_seconds) == (Decimal("101.99"), Decimal("102.01"), 0)
    assert (len(alpaca.calls), len(finnhub.calls), len(twelvedata.calls)) == (1, 1, 0)
    alpaca_status = service.status()[0]
    assert (alpaca_status.name, alpaca_status.calls, alpaca_status.failures) == ("alpaca", 1, 1)
    assert alpaca_status.last_error == "alpaca: server error 500"


def test_a_quote_is_served_from_the_cache_for_two_seconds(clock):
    service, (alpaca, _, _) = chain(alpaca=["101", "105"])
    assert service.quote("SPY").cached is False
    clock.shift(1.5)
    again = service.quote("SPY")
    assert (again.price, again.provider, again.cached, again.stale, again.age_seconds) == (Decimal("101"), "alpaca",
                                                                                           True, False, 1.5)
    assert len(alpaca.calls) == 1
    clock.shift(0.5)
    fresh = service.quote("SPY")
    assert (fresh.price, fresh.cached, len(alpaca.calls)) == (Decimal("105"), False, 2)


def test_failing_alpaca_then_finnhub_hand_over_in_order_and_open_their_breakers(clock):
    """500s, timeouts, then 429s from alpaca: quotes from finnhub; then finnhub fails too: from twelvedata."""
    service, (alpaca, finnhub, twelvedata) = chain(alpaca=[DOWN, SLOW, LIMITED], finnhub=["102"] * 4 + [DOWN])
    served = []
    for _ in range(3):
        served.append(service.quote("SPY").provider)
        clock.shift(3)  # past the fresh cache
    assert served == ["finnhub"] * 3 and [s.state for s in service.status()] == ["open", "closed", "closed"]
    for _ in range(4):
        served.append(service.quote("SPY").provider)
        clock.shift(3)
    assert served[3:] == ["finnhub", "twelvedata", "twelvedata", "twelvedata"]
    assert len(alpaca.calls) == 3  # skipped while its breaker is open
    assert [s.state for s in service.status()] == ["open", "open", "closed"]  # finnhub failed 3 times by t=30
    assert service.status()[0].last_error == "alpaca: rate limited (429)"


def test_half_open_alpaca_serves_again_once_its_trial_succeeds(clock):
    service, (alpaca, finnhub, _) = chain(alpaca=[DOWN, DOWN, DOWN, "101"])
    for _ in range(3):
        assert service.quote("SPY").provider == "finnhub"
        clock.shift(3)
    clock.shift(27)  # 30 s after its third failure opened it
    assert service.status()[0].state == "half_open"
    answer = service.quote("SPY")
    assert answer.provider == "alpaca" and service.status()[0].state == "closed"


def test_all_down_without_a_last_known_quote_names_every_providers_reason(clock):
    service, _ = chain(alpaca=[DOWN], finnhub=[SLOW], twelvedata=[LIMITED])
    with pytest.raises(NoProviderAvailable) as refusal:
        service.quote("SPY")
    assert refusal.value.message == ("No market-data provider is available for SPY: alpaca: server error 500; "
                                     "finnhub: no answer within 5 s; twelvedata: rate limited (429)")


def test_open_breakers_and_unconfigured_providers_are_named_in_the_error(clock):
    service, _ = chain(alpaca=[DOWN], finnhub=[DOWN], twelvedata=[DOWN],
                       not_configured={"stored": "not configured: provider keys are set in the admin"})
    for _ in range(3):
        with pytest.raises(NoProviderAvailable):
            service.quote("SPY")
    with pytest.raises(NoProviderAvailable) as refusal:
        service.quote("SPY")
    assert refusal.value.message == (
        "No market-data provider is available for SPY: alpaca: circuit open until 14:30:30 UTC (last error: server "
        "error 500); finnhub: circuit open until 14:30:30 UTC (last error: server error 500); twelvedata: circuit open "
        "until 14:30:30 UTC (last error: server error 500); stored: not configured: provider keys are set in the admin")


def test_with_every_provider_down_the_last_known_quote_is_served_marked_stale(clock):
    service, _ = chain(alpaca=["101", DOWN], finnhub=[DOWN], twelvedata=[SLOW])
    service.quote("SPY")
    clock.shift(45)
    stale = service.quote("SPY")
    assert (stale.price, stale.provider, stale.cached, stale.stale, stale.age_seconds) == (Decimal("101"), "alpaca",
                                                                                           True, True, 45)
    clock.shift(255)  # 300 s after it was fetched: too old to serve
    with pytest.raises(NoProviderAvailable, match="for SPY: alpaca: server error 500; finnhub"):
        service.quote("SPY")


def test_an_unknown_symbol_falls_through_without_opening_breakers(clock):
    service, _ = chain(alpaca=[FailureKind.NOT_FOUND], finnhub=[FailureKind.NOT_FOUND], twelvedata=["0.35"])
    for _ in range(4):
        assert service.quote("DOGE-USDT").provider == "twelvedata"
        clock.shift(3)
    assert [(s.state, s.calls, s.failures) for s in service.status()] == [("closed", 4, 0), ("closed", 4, 0),
                                                                          ("closed", 4, 0)]


def test_an_adapter_bug_counts_as_a_failure_and_the_next_provider_answers(clock):
    service, _ = chain(alpaca=[KeyError("c")])
    assert service.quote("SPY").provider == "finnhub"
    assert service.status()[0].last_error == "alpaca: unexpected error: KeyError('c')"


def test_bars_go_through_the_same_chain_and_breakers(clock):
    bar = ProviderBar(ts=datetime(2026, 12, 3, 14, 30, tzinfo=UTC), open=Decimal("1"), high=Decimal("2"),
                      low=Decimal("0.5"), close=Decimal("1.5"), volume=Decimal("10"))
    service, (alpaca, _, _) = chain(alpaca=[DOWN], finnhub=[[bar]])
    start, end = datetime(2026, 12, 3, 14, 30, tzinfo=UTC), datetime(2026, 12, 3, 14, 31, tzinfo=UTC)
    for _ in range(3):
        assert service.bars("spy", start, end) == ([bar], "finnhub")
    assert len(alpaca.calls) == 3 and service.status()[0].state == "open"
    service.bars("SPY", start, end)
    assert len(alpaca.calls) == 3  # its open breaker skips it for bars too
    stored = QuoteService([ScriptedProvider("stored", [])])
    assert stored.bars("SPY", start, end) == ([], "stored")  # no bars in the range is an answer


def test_status_lists_the_chain_then_those_not_configured(clock):
    service, _ = chain(alpaca=[DOWN, "101"], not_configured={"stored": "not configured: provider keys are set in the admin"})
    service.quote("SPY")
    rows = service.status()
    assert [(r.name, r.configured, r.state) for r in rows] == [
        ("alpaca", True, "closed"), ("finnhub", True, "closed"), ("twelvedata", True, "closed"), ("stored", False, "closed")]
    assert rows[1].last_latency_ms is not None and rows[1].calls == 1 and rows[1].successes == 1
    assert rows[3].detail == "not configured: provider keys are set in the admin"
