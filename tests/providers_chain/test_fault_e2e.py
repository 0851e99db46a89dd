"""The fault drill against the providers' stand-in servers: Alpaca failing with 500s, then a timeout, then a
429 hands quotes to Finnhub; Finnhub failing hands them to Twelve Data; the breakers open and half-open as
configured; with all three down the last-known quote is served marked stale, then a clear error names each.
The chain is built by the registry from settings, as in production."""
from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from cohorts.providers.base import Credentials
from cohorts.providers.registry import market_data
from cohorts.providers.service import NoProviderAvailable
from tests.providers import stubs

QUOTE_AT = datetime(2026, 12, 3, 14, 29, 59, tzinfo=UTC)


def stub_keys(name):
    return Credentials(key_id="stub-key", secret="stub-secret")  # the key pair every stand-in accepts


@pytest.fixture
def stand_ins(settings):
    with stubs.AlpacaStub() as alpaca, stubs.FinnhubStub() as finnhub, stubs.TwelveDataStub() as twelvedata:
        for stub, price in ((alpaca, "512.34"), (finnhub, "512.40"), (twelvedata, "512.50")):
            stub.set_quote("SPY", price, ts=QUOTE_AT, bid=price, ask=price)
        settings.MARKET_DATA_PROVIDERS = ["alpaca", "finnhub", "twelvedata"]
        settings.PROVIDER_CREDENTIALS_LOOKUP = "tests.providers_chain.test_fault_e2e.stub_keys"
        settings.ALPACA_DATA_URL, settings.FINNHUB_URL, settings.TWELVEDATA_URL = alpaca.url, finnhub.url, twelvedata.url
        settings.PROVIDER_TIMEOUT_SECONDS = 0.3  # below the stand-ins' 1 s "timeout" answers
        yield alpaca, finnhub, twelvedata


def quote(clock):
    """One quote, then 3 s later (past the 2 s fresh cache)."""
    answer = market_data().quote("SPY")
    clock.shift(3)
    return answer


def states():
    return [s.state for s in market_data().status()]


def test_quotes_fall_back_in_order_and_breakers_open_and_half_open(stand_ins, clock):
    alpaca, finnhub, twelvedata = stand_ins
    for fault in ("server_error", "timeout", "rate_limited"):
        alpaca.fail_next(fault)
        answer = quote(clock)
        assert (answer.provider, answer.price, answer.stale) == ("finnhub", Decimal("512.40"), False)
    assert states() == ["open", "closed", "closed"]  # opened at t=6 by its third failure
    assert "rate" in market_data().status()[0].last_error.lower()
    calls = alpaca.calls
    assert quote(clock).provider == "finnhub" and alpaca.calls == calls  # skipped while open

    finnhub.fail_always("server_error")
    assert [quote(clock).provider for _ in range(3)] == ["twelvedata"] * 3
    assert states() == ["open", "open", "closed"]

    clock.shift(36 - 21)  # t=36: alpaca's cool-down is over
    assert states()[0] == "half_open"
    answer = quote(clock)
    assert (answer.provider, answer.price, answer.cached) == ("alpaca", Decimal("512.34"), False)
    assert states()[0] == "closed"


def test_all_three_down_serves_the_last_quote_stale_then_a_clear_error(stand_ins, clock):
    alpaca, finnhub, twelvedata = stand_ins
    assert quote(clock).provider == "alpaca"  # t=0, the last-known copy
    alpaca.fail_always("server_error")
    finnhub.fail_always("timeout")
    twelvedata.fail_always("rate_limited")
    stale = quote(clock)
    assert (stale.provider, stale.price, stale.cached, stale.stale, stale.age_seconds) == ("alpaca", Decimal("512.34"),
                                                                                           True, True, 3)
    clock.shift(300)
    with pytest.raises(NoProviderAvailable) as refusal:
        market_data().quote("SPY")
    message = refusal.value.message
    assert message.startswith("No market-data provider is available for SPY: alpaca: ")
    assert "; finnhub: " in message and "; twelvedata: " in message
