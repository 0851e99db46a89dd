"""FinnhubProvider against the Finnhub stand-in: the quote's fields, candles, the key header, its refusals."""
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from cohorts.providers.base import Credentials, FailureKind, ProviderError
from cohorts.providers.finnhub import FinnhubProvider
from tests.providers.stubs import Answer, Raw, minute_bars

T0 = datetime(2026, 1, 2, 14, 30, tzinfo=UTC)


def provider(stub, credentials="stub"):
    return FinnhubProvider(credentials=stub.credentials if credentials == "stub" else credentials,
                           base_url=stub.url, timeout=0.5)


def test_quote_is_the_current_price_exactly_with_its_time(finnhub_stub):
    finnhub_stub.set_quote("AAPL", "261.7412", ts=T0)
    quote = provider(finnhub_stub).latest_quote("AAPL")
    assert (quote.symbol, quote.provider, str(quote.price), quote.ts) == ("AAPL", "finnhub", "261.7412", T0)
    request = finnhub_stub.requests[-1]
    assert request.path == "/api/v1/quote" and request.query == {"symbol": "AAPL"}
    assert request.headers["X-Finnhub-Token"] == "stub-key"  # the key travels in the header, not the URL


def test_crypto_quote_uses_finnhubs_exchange_spelling(finnhub_stub):
    finnhub_stub.set_quote("BTC-USDT", "43000.12", ts=T0)
    assert provider(finnhub_stub).latest_quote("BTC-USDT").price == Decimal("43000.12")
    assert finnhub_stub.requests[-1].query["symbol"] == "BINANCE:BTCUSDT"


def test_the_all_zero_answer_for_an_unknown_symbol_is_bad_data(finnhub_stub):
    with pytest.raises(ProviderError) as caught:
        provider(finnhub_stub).latest_quote("NOPE")
    assert caught.value.kind == FailureKind.BAD_DATA
    assert caught.value.message == ("finnhub: the quote of NOPE is all zeros: Finnhub has no price for NOPE "
                                    "(its answer for an unknown symbol)")


def test_a_quote_missing_fields_is_bad_data(finnhub_stub):
    finnhub_stub.route = lambda request, fault: Answer(200, {"c": Raw("1.5")})
    with pytest.raises(ProviderError) as caught:
        provider(finnhub_stub).latest_quote("AAPL")
    assert caught.value.kind == FailureKind.BAD_DATA and "has no 'h' field" in caught.value.message


def test_stock_candles_in_start_up_to_end(finnhub_stub):
    finnhub_stub.set_bars("AAPL", minute_bars(T0 - timedelta(minutes=1), ["1.01", "1.02", "1.03", "1.04"],
                                              volume="1500"))
    bars = provider(finnhub_stub).bars("AAPL", T0, T0 + timedelta(minutes=2))
    assert [(bar.ts, str(bar.close), str(bar.volume)) for bar in bars] == [
        (T0, "1.02", "1500"), (T0 + timedelta(minutes=1), "1.03", "1500")]
    request = finnhub_stub.requests[-1]
    assert request.path == "/api/v1/stock/candle"
    assert request.query == {"symbol": "AAPL", "resolution": "1", "from": str(int(T0.timestamp())),
                             "to": str(int((T0 + timedelta(minutes=2)).timestamp()))}


def test_crypto_candles_use_the_crypto_endpoint(finnhub_stub):
    finnhub_stub.set_bars("ETH-USD", minute_bars(T0, ["2000.5", "2001.25"], volume="0.5"))
    bars = provider(finnhub_stub).bars("ETH-USD", T0, T0 + timedelta(minutes=2))
    assert [str(bar.close) for bar in bars] == ["2000.5", "2001.25"]
    request = finnhub_stub.requests[-1]
    assert request.path == "/api/v1/crypto/candle" and request.query["symbol"] == "COINBASE:ETH-USD"


def test_no_data_is_no_bars(finnhub_stub):
    assert provider(finnhub_stub).bars("AAPL", T0, T0 + timedelta(minutes=5)) == []


def test_candle_columns_of_different_lengths_are_bad_data(finnhub_stub):
    finnhub_stub.route = lambda request, fault: Answer(200, {"s": "ok", "t": [int(T0.timestamp())],
                                                             "o": [1], "h": [1], "l": [1], "c": [1, 2], "v": [1]})
    with pytest.raises(ProviderError) as caught:
        provider(finnhub_stub).bars("AAPL", T0, T0 + timedelta(minutes=1))
    assert caught.value.kind == FailureKind.BAD_DATA and "differ in length" in caught.value.message


def test_no_key_is_auth_without_calling(finnhub_stub):
    with pytest.raises(ProviderError) as caught:
        provider(finnhub_stub, credentials=None).latest_quote("AAPL")
    assert caught.value.kind == FailureKind.AUTH and finnhub_stub.calls == 0


def test_a_wrong_key_is_finnhubs_401(finnhub_stub):
    with pytest.raises(ProviderError) as caught:
        provider(finnhub_stub, credentials=Credentials("wrong")).latest_quote("AAPL")
    assert caught.value.message == "finnhub: HTTP 401, the key was refused: Invalid API key."


def test_a_premium_endpoint_refusal_is_auth(finnhub_stub):
    finnhub_stub.route = lambda request, fault: Answer(403, {"error": "You don't have access to this resource."})
    with pytest.raises(ProviderError) as caught:
        provider(finnhub_stub).bars("AAPL", T0, T0 + timedelta(minutes=1))
    assert caught.value.kind == FailureKind.AUTH and "You don't have access" in caught.value.message


def test_the_stub_reads_the_token_parameter_too(finnhub_stub):
    import requests

    finnhub_stub.set_quote("AAPL", "1.5", ts=T0)
    answer = requests.get(f"{finnhub_stub.url}/quote", params={"symbol": "AAPL", "token": "stub-key"}, timeout=2)
    assert answer.status_code == 200 and '"c":1.5' in answer.text
    refused = requests.get(f"{finnhub_stub.url}/quote", params={"symbol": "AAPL"}, timeout=2)
    assert refused.status_code == 401 and refused.json() == {"error": "Please use an API key."}


def test_health_asks_the_market_status(finnhub_stub):
    assert provider(finnhub_stub).health().ok
    assert finnhub_stub.requests[-1].path == "/api/v1/stock/market-status"
