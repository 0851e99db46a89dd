"""TwelveDataProvider against the Twelve Data stand-in: quotes, time series in windows, errors inside HTTP 200."""
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from cohorts.providers import twelvedata
from cohorts.providers.base import Credentials, FailureKind, ProviderError
from cohorts.providers.twelvedata import TwelveDataProvider
from tests.providers.stubs import Answer, minute_bars

T0 = datetime(2026, 1, 2, 14, 30, tzinfo=UTC)


def provider(stub, credentials="stub"):
    return TwelveDataProvider(credentials=stub.credentials if credentials == "stub" else credentials,
                              base_url=stub.url, timeout=0.5)


def test_quote_is_the_close_exactly_with_the_key_as_apikey(twelvedata_stub):
    twelvedata_stub.set_quote("AAPL", "148.7900", ts=T0)
    quote = provider(twelvedata_stub).latest_quote("AAPL")
    assert (quote.symbol, quote.provider, str(quote.price), quote.ts) == ("AAPL", "twelvedata", "148.7900", T0)
    request = twelvedata_stub.requests[-1]
    assert request.path == "/quote" and request.query == {"symbol": "AAPL", "apikey": "stub-key"}


def test_crypto_quote_uses_the_slash_pair(twelvedata_stub):
    twelvedata_stub.set_quote("BTC-USD", "43000.5", ts=T0)
    assert provider(twelvedata_stub).latest_quote("BTC-USD").price == Decimal("43000.5")
    assert twelvedata_stub.requests[-1].query["symbol"] == "BTC/USD"


def test_an_unknown_symbol_is_not_found_in_twelve_datas_words(twelvedata_stub):
    with pytest.raises(ProviderError) as caught:
        provider(twelvedata_stub).latest_quote("NOPE")
    assert caught.value.kind == FailureKind.NOT_FOUND
    assert caught.value.message.startswith("twelvedata: code 404: **symbol** not found: NOPE.")


def test_a_wrong_key_arrives_as_http_200_and_is_auth(twelvedata_stub):
    with pytest.raises(ProviderError) as caught:
        provider(twelvedata_stub, credentials=Credentials("wrong")).latest_quote("AAPL")
    assert caught.value.kind == FailureKind.AUTH
    assert caught.value.message.startswith("twelvedata: code 401, the key was refused: **apikey** parameter")


def test_time_series_in_start_up_to_end_oldest_first(twelvedata_stub):
    twelvedata_stub.set_bars("AAPL", minute_bars(T0 - timedelta(minutes=1), ["148.1", "148.2", "148.3", "148.4"],
                                                 volume="624277"))
    bars = provider(twelvedata_stub).bars("AAPL", T0, T0 + timedelta(minutes=2))
    assert [(bar.ts, str(bar.open), str(bar.close), bar.volume) for bar in bars] == [
        (T0, "148.1", "148.2", Decimal("624277")), (T0 + timedelta(minutes=1), "148.2", "148.3", Decimal("624277"))]
    query = twelvedata_stub.requests[-1].query
    assert query == {"symbol": "AAPL", "interval": "1min", "timezone": "UTC", "order": "asc", "outputsize": "5000",
                     "start_date": "2026-01-02 14:30:00", "end_date": "2026-01-02 14:32:00", "apikey": "stub-key"}


def test_a_long_range_is_asked_for_in_windows(twelvedata_stub, monkeypatch):
    monkeypatch.setattr(twelvedata, "MAX_OUTPUT", 3)
    twelvedata_stub.max_output = 3
    closes = [f"1.{i}" for i in range(1, 8)]
    twelvedata_stub.set_bars("AAPL", minute_bars(T0, closes))
    bars = provider(twelvedata_stub).bars("AAPL", T0, T0 + timedelta(minutes=7))
    assert [str(bar.close) for bar in bars] == closes
    assert [bar.ts for bar in bars] == [T0 + timedelta(minutes=i) for i in range(7)]
    assert len(twelvedata_stub.requests) == 4  # windows of 2 minutes (3 stamps with the inclusive end)


def test_no_data_on_the_dates_is_no_bars(twelvedata_stub):
    twelvedata_stub.set_bars("AAPL", minute_bars(T0, ["1.5"]))
    assert provider(twelvedata_stub).bars("AAPL", T0 + timedelta(hours=1), T0 + timedelta(hours=2)) == []


def test_an_error_code_500_in_the_body_is_unavailable(twelvedata_stub):
    twelvedata_stub.route = lambda request, fault: Answer(200, {"code": 500, "message": "Internal error",
                                                                "status": "error"})
    with pytest.raises(ProviderError) as caught:
        provider(twelvedata_stub).latest_quote("AAPL")
    assert caught.value.kind == FailureKind.UNAVAILABLE and caught.value.message == "twelvedata: code 500: Internal error"


def test_a_price_that_is_not_a_number_is_bad_data(twelvedata_stub):
    twelvedata_stub.route = lambda request, fault: Answer(200, {"close": "n/a", "timestamp": 1767364200})
    with pytest.raises(ProviderError) as caught:
        provider(twelvedata_stub).latest_quote("AAPL")
    assert caught.value.kind == FailureKind.BAD_DATA and "'n/a', not a number" in caught.value.message


def test_no_key_is_auth_without_calling(twelvedata_stub):
    with pytest.raises(ProviderError) as caught:
        provider(twelvedata_stub, credentials=None).bars("AAPL", T0, T0 + timedelta(minutes=1))
    assert caught.value.kind == FailureKind.AUTH and twelvedata_stub.calls == 0


def test_health_asks_the_api_usage(twelvedata_stub):
    assert provider(twelvedata_stub).health().ok
    assert twelvedata_stub.requests[-1].path == "/api_usage"
