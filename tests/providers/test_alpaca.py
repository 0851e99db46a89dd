"""AlpacaProvider (alpaca-py) against the Alpaca stand-in: values, spelling, keys, pagination, ranges."""
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from cohorts.providers.alpaca import AlpacaProvider
from cohorts.providers.base import Credentials, FailureKind, ProviderError
from tests.providers.stubs import Answer, StubBar, minute_bars

T0 = datetime(2026, 1, 2, 14, 30, tzinfo=UTC)


def provider(stub, **kwargs):
    return AlpacaProvider(credentials=kwargs.pop("credentials", stub.credentials), base_url=stub.url,
                          timeout=kwargs.pop("timeout", 0.5))


def test_stock_quote_is_the_last_trade_with_the_book_exactly(alpaca_stub):
    alpaca_stub.set_quote("SPY", "512.3456789", ts=T0 + timedelta(microseconds=813904), bid="512.34", ask="512.3500")
    quote = provider(alpaca_stub).latest_quote("SPY")
    assert (quote.symbol, quote.provider) == ("SPY", "alpaca")
    assert quote.price == Decimal("512.3456789") and str(quote.price) == "512.3456789"
    assert (str(quote.bid), str(quote.ask)) == ("512.34", "512.3500")
    assert quote.ts == T0 + timedelta(microseconds=813904) and quote.ts.tzinfo == UTC
    request = alpaca_stub.requests[-1]
    assert request.path == "/v2/stocks/snapshots"
    assert request.query["symbols"] == "SPY" and request.query["feed"] == "iex"
    assert request.headers["APCA-API-KEY-ID"] == "stub-key"
    assert request.headers["APCA-API-SECRET-KEY"] == "stub-secret"


def test_crypto_quote_uses_the_crypto_endpoint_and_alpacas_pair_spelling(alpaca_stub):
    alpaca_stub.set_quote("BTC-USDT", "43000.12345678", ts=T0)
    quote = provider(alpaca_stub).latest_quote("BTC-USDT")
    assert quote.price == Decimal("43000.12345678") and quote.symbol == "BTC-USDT"
    assert quote.bid is None and quote.ask is None
    request = alpaca_stub.requests[-1]
    assert request.path == "/v1beta3/crypto/us/snapshots" and request.query["symbols"] == "BTC/USDT"


def test_a_quote_with_no_trade_is_the_mid_of_bid_and_ask(alpaca_stub):
    alpaca_stub.set_quote("ETH-USD", None, ts=T0, bid="2000.10", ask="2000.30")
    quote = provider(alpaca_stub).latest_quote("ETH-USD")
    assert quote.price == Decimal("2000.20") and quote.bid == Decimal("2000.10")


def test_crypto_needs_no_keys_and_sends_none(alpaca_stub):
    alpaca_stub.set_quote("BTC-USD", "43000.5", ts=T0)
    quote = provider(alpaca_stub, credentials=None).latest_quote("BTC-USD")
    assert quote.price == Decimal("43000.5")
    assert "APCA-API-KEY-ID" not in alpaca_stub.requests[-1].headers


def test_stocks_without_keys_fail_as_auth_without_calling(alpaca_stub):
    with pytest.raises(ProviderError) as caught:
        provider(alpaca_stub, credentials=None).latest_quote("SPY")
    assert caught.value.kind == FailureKind.AUTH and "no API key and secret configured" in caught.value.message
    assert alpaca_stub.calls == 0


def test_a_wrong_key_is_alpacas_401(alpaca_stub):
    alpaca_stub.set_quote("SPY", "500", ts=T0)
    with pytest.raises(ProviderError) as caught:
        provider(alpaca_stub, credentials=Credentials("stub-key", "wrong")).latest_quote("SPY")
    assert caught.value.kind == FailureKind.AUTH
    assert caught.value.message == "alpaca: HTTP 401, the key was refused: unauthorized."


def test_an_unknown_or_unmappable_symbol_is_not_found(alpaca_stub):
    with pytest.raises(ProviderError) as caught:
        provider(alpaca_stub).latest_quote("NOPE")
    assert caught.value.kind == FailureKind.NOT_FOUND and "no snapshot of NOPE" in caught.value.message
    calls = alpaca_stub.calls
    with pytest.raises(ProviderError) as caught:
        provider(alpaca_stub).latest_quote("BTC-EUR")
    assert caught.value.kind == FailureKind.NOT_FOUND and "Alpaca has no BTC-EUR" in caught.value.message
    assert alpaca_stub.calls == calls  # refused before any request


def test_bars_follow_next_page_token_to_the_last_page(alpaca_stub):
    alpaca_stub.page_size = 2
    alpaca_stub.set_bars("BTC-USDT", minute_bars(T0, ["1.1", "1.2", "1.3", "1.4", "1.5"], volume="0.00012345"))
    bars = provider(alpaca_stub).bars("BTC-USDT", T0, T0 + timedelta(minutes=5))
    assert [bar.close for bar in bars] == [Decimal("1.1"), Decimal("1.2"), Decimal("1.3"), Decimal("1.4"),
                                           Decimal("1.5")]
    assert all(str(bar.volume) == "0.00012345" for bar in bars)
    pages = [r for r in alpaca_stub.requests if r.path == "/v1beta3/crypto/us/bars"]
    assert len(pages) == 3
    assert "page_token" not in pages[0].query and pages[1].query["page_token"] and pages[2].query["page_token"]
    assert pages[0].query["timeframe"] == "1Min" and pages[0].query["symbols"] == "BTC/USDT"


def test_bars_cover_start_up_to_but_not_including_end(alpaca_stub):
    alpaca_stub.set_bars("SPY", minute_bars(T0 - timedelta(minutes=1), ["10", "11", "12", "13", "14"]))
    bars = provider(alpaca_stub).bars("SPY", T0, T0 + timedelta(minutes=3))
    assert [bar.ts for bar in bars] == [T0, T0 + timedelta(minutes=1), T0 + timedelta(minutes=2)]
    first = bars[0]
    assert (first.open, first.high, first.low, first.close) == (Decimal("10"), Decimal("11"), Decimal("10"),
                                                                Decimal("11"))
    request = alpaca_stub.requests[-1]
    assert request.path == "/v2/stocks/bars" and request.query["feed"] == "iex"
    assert request.query["start"] == "2026-01-02T14:30:00+00:00"


def test_an_empty_range_is_no_bars(alpaca_stub):
    assert provider(alpaca_stub).bars("SPY", T0, T0 + timedelta(minutes=30)) == []
    assert provider(alpaca_stub).bars("SPY", T0, T0) == []


def test_a_rate_limit_surfaces_at_once_without_the_sdks_retries(alpaca_stub):
    alpaca_stub.set_quote("SPY", "500", ts=T0)
    alpaca_stub.fail_always("rate_limited", retry_after=30)
    started = time.perf_counter()
    with pytest.raises(ProviderError) as caught:
        provider(alpaca_stub).latest_quote("SPY")
    assert time.perf_counter() - started < 1.0  # alpaca-py alone would sleep 3 s three times
    assert alpaca_stub.calls == 1
    assert caught.value.kind == FailureKind.RATE_LIMITED and caught.value.retry_after == 30
    assert "too many requests." in caught.value.message


def test_a_bar_missing_a_field_is_bad_data(alpaca_stub):
    alpaca_stub.route = lambda request, fault: Answer(200, {"bars": {"SPY": [{"t": "2026-01-02T14:30:00Z",
                                                                              "o": 1, "h": 1, "l": 1, "v": 5}]},
                                                            "next_page_token": None})
    with pytest.raises(ProviderError) as caught:
        provider(alpaca_stub).bars("SPY", T0, T0 + timedelta(minutes=1))
    assert caught.value.kind == FailureKind.BAD_DATA
    assert caught.value.message == "alpaca: the 2026-01-02 14:30 bar of SPY has no 'c' field"


def test_an_answer_with_no_known_key_is_bad_data(alpaca_stub):
    alpaca_stub.route = lambda request, fault: Answer(200, {"unexpected": {}})
    with pytest.raises(ProviderError) as caught:
        provider(alpaca_stub).bars("BTC-USD", T0, T0 + timedelta(minutes=1))
    assert caught.value.kind == FailureKind.BAD_DATA


def test_health_says_whether_alpaca_answers(alpaca_stub):
    health = provider(alpaca_stub).health()
    assert health.ok and health.provider == "alpaca" and health.latency_ms >= 0
    assert alpaca_stub.requests[-1].path == "/v2/stocks/trades/latest"
    alpaca_stub.fail_next("server_error")
    health = provider(alpaca_stub).health()
    assert not health.ok and health.detail == "alpaca: HTTP 500: Internal Server Error"


def test_stub_bar_values_are_written_digit_for_digit(alpaca_stub):
    alpaca_stub.set_bars("SPY", [StubBar(T0, "1.10", "1.2000", "1.0", "1.15", "100")])
    bar = provider(alpaca_stub).bars("SPY", T0, T0 + timedelta(minutes=1))[0]
    assert (str(bar.open), str(bar.high), str(bar.low), str(bar.close), str(bar.volume)) == (
        "1.10", "1.2000", "1.0", "1.15", "100")
