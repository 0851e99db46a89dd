"""Every provider's failures, as its stand-in serves them, become the same FailureKind with the provider's words;
the stubs' fault controls (fail_next, fail_always, heal, calls) behave as documented."""
import time
from datetime import UTC, datetime, timedelta

import pytest

from cohorts.providers.alpaca import AlpacaProvider
from cohorts.providers.base import FailureKind, ProviderError
from cohorts.providers.finnhub import FinnhubProvider
from cohorts.providers.twelvedata import TwelveDataProvider
from tests.providers.stubs import minute_bars

T0 = datetime(2026, 1, 2, 14, 30, tzinfo=UTC)
TIMEOUT = 0.3
ADAPTERS = {"alpaca": AlpacaProvider, "finnhub": FinnhubProvider, "twelvedata": TwelveDataProvider}
RATE_LIMIT_WORDS = {"alpaca": "too many requests.", "finnhub": "API limit reached",
                    "twelvedata": "You have run out of API credits"}
AUTH_WORDS = {"alpaca": "unauthorized.", "finnhub": "Invalid API key.", "twelvedata": "**apikey** parameter is"}


@pytest.fixture(params=list(ADAPTERS))
def stub(request):
    """Each provider's stand-in in turn, with a stock quote and a few bars of SPY."""
    stub = request.getfixturevalue(f"{request.param}_stub")
    stub.set_quote("SPY", "512.25", ts=T0)
    stub.set_bars("SPY", minute_bars(T0, ["512.25", "512.50", "512.75"]))
    return stub


def adapter(stub):
    return ADAPTERS[stub.provider](credentials=stub.credentials, base_url=stub.url, timeout=TIMEOUT)


def quote_failure(stub) -> ProviderError:
    with pytest.raises(ProviderError) as caught:
        adapter(stub).latest_quote("SPY")
    assert caught.value.provider == stub.provider and caught.value.message.startswith(f"{stub.provider}: ")
    return caught.value


def bars_failure(stub) -> ProviderError:
    with pytest.raises(ProviderError) as caught:
        adapter(stub).bars("SPY", T0, T0 + timedelta(minutes=3))
    return caught.value


def test_server_error_is_unavailable(stub):
    stub.fail_next("server_error", times=2)
    assert quote_failure(stub).kind == FailureKind.UNAVAILABLE
    assert bars_failure(stub).kind == FailureKind.UNAVAILABLE


def test_no_answer_within_the_timeout_is_timeout(stub):
    stub.fail_next("timeout")
    started = time.perf_counter()
    error = quote_failure(stub)
    assert time.perf_counter() - started < stub.delay  # gave up at the client's timeout, not the server's answer
    assert error.kind == FailureKind.TIMEOUT and error.message.endswith(f"no answer within {TIMEOUT:g} s")


def test_rate_limit_carries_the_providers_message_and_retry_after(stub):
    stub.fail_next("rate_limited", retry_after=7)
    error = quote_failure(stub)
    assert error.kind == FailureKind.RATE_LIMITED and error.retry_after == 7
    assert RATE_LIMIT_WORDS[stub.provider] in error.message and "(retry after 7 s)" in error.message
    stub.fail_next("rate_limited")
    error = bars_failure(stub)
    assert error.kind == FailureKind.RATE_LIMITED and error.retry_after is None


def test_auth_refusal_is_auth(stub):
    stub.fail_next("auth", times=2)
    error = quote_failure(stub)
    assert error.kind == FailureKind.AUTH and AUTH_WORDS[stub.provider] in error.message
    assert bars_failure(stub).kind == FailureKind.AUTH


def test_a_wrong_key_is_refused_by_the_stub_itself(stub):
    provider = adapter(stub)
    stub.key_id = "another-key"  # the stub now expects a key the adapter does not have
    with pytest.raises(ProviderError) as caught:
        provider.latest_quote("SPY")
    assert caught.value.kind == FailureKind.AUTH and AUTH_WORDS[stub.provider] in caught.value.message


def test_malformed_json_is_bad_data(stub):
    stub.fail_next("malformed", times=2)
    error = quote_failure(stub)
    assert error.kind == FailureKind.BAD_DATA and "the answer is not JSON" in error.message
    assert bars_failure(stub).kind == FailureKind.BAD_DATA


def test_an_all_zero_quote_is_bad_data(stub):
    stub.fail_next("zero_quote")
    error = quote_failure(stub)
    assert error.kind == FailureKind.BAD_DATA


def test_an_empty_series_is_no_bars(stub):
    stub.fail_next("empty")
    assert adapter(stub).bars("SPY", T0, T0 + timedelta(minutes=3)) == []


def test_an_empty_quote_answer_is_a_clear_failure(stub):
    stub.fail_next("empty")
    error = quote_failure(stub)
    # Alpaca and Twelve Data say the symbol is unknown; Finnhub answers all zeros, which is bad data
    assert error.kind == (FailureKind.BAD_DATA if stub.provider == "finnhub" else FailureKind.NOT_FOUND)


def test_a_dropped_connection_is_unavailable(stub):
    stub.fail_next("disconnect")
    assert quote_failure(stub).kind == FailureKind.UNAVAILABLE


def test_a_server_that_is_gone_is_unavailable(stub):
    provider = adapter(stub)
    stub.stop()
    with pytest.raises(ProviderError) as caught:
        provider.latest_quote("SPY")
    assert caught.value.kind == FailureKind.UNAVAILABLE and "Connection refused" in caught.value.message


def test_fail_next_fails_that_many_requests_then_answers(stub):
    stub.fail_next("server_error", times=2)
    provider = adapter(stub)
    for _ in range(2):
        with pytest.raises(ProviderError):
            provider.latest_quote("SPY")
    assert str(provider.latest_quote("SPY").price) == "512.25"
    assert stub.calls == 3


def test_fail_always_fails_until_healed(stub):
    stub.fail_always("server_error")
    provider = adapter(stub)
    for _ in range(3):
        with pytest.raises(ProviderError):
            provider.latest_quote("SPY")
    stub.heal()
    assert str(provider.latest_quote("SPY").price) == "512.25"
    bars = provider.bars("SPY", T0, T0 + timedelta(minutes=3))
    assert [str(bar.close) for bar in bars] == ["512.25", "512.50", "512.75"]


def test_health_reports_a_failure_without_raising(stub):
    stub.fail_always("timeout")
    health = adapter(stub).health()
    assert not health.ok and health.latency_ms is None and "no answer within" in health.detail
    stub.heal()
    assert adapter(stub).health().ok


def test_an_unknown_fault_kind_is_refused(stub):
    with pytest.raises(ValueError, match="unknown fault 'teapot'"):
        stub.fail_next("teapot")
