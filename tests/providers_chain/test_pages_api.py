"""/market/providers and /api/market/providers, /api/market/quotes/{symbol}: what an operator sees."""
from __future__ import annotations

import pytest

from cohorts.providers.base import FailureKind
from cohorts.providers.registry import market_data

DOWN = FailureKind.UNAVAILABLE


@pytest.fixture
def web(client, maker):
    client.force_login(maker)
    return client


@pytest.mark.django_db
def test_the_page_shows_each_breaker_in_order_with_its_state_and_error(web, fake_chain, clock):
    fake_chain.update(alpaca=[DOWN], finnhub=["102"])
    for _ in range(3):
        market_data().quote("SPY")
        clock.shift(3)
    html = web.get("/market/providers").content.decode()
    rows = html.split('<tr id="provider-')[1:]
    assert [r.split('"', 1)[0] for r in rows] == ["alpaca", "finnhub", "twelvedata"]
    assert 'class="status breaker-open">open<' in rows[0] and "alpaca: server error 500" in rows[0]
    assert "14:30:06" in rows[0] and "14:30:36" in rows[0]  # opened, and when it is tried again
    assert 'class="status breaker-closed">closed<' in rows[1]
    assert "not configured" in rows[2] and "Provider keys are set in the admin" not in html  # some are configured


@pytest.mark.django_db
def test_the_page_says_how_to_add_keys_when_none_is_configured(web, settings):
    settings.PROVIDER_CREDENTIALS_LOOKUP = ""
    response = web.get("/market/providers")
    assert response.status_code == 200
    assert "No provider is configured" in response.content.decode()
    assert "Provider keys are set in the admin" in response.content.decode()


@pytest.mark.django_db
def test_the_market_page_links_to_the_providers(web):
    assert 'href="/market/providers"' in web.get("/market/").content.decode()


@pytest.mark.django_db
def test_quote_api_answers_exact_strings_and_says_where_from(api, fake_chain, clock):
    fake_chain.update(alpaca=[DOWN], finnhub=["57436.11"])
    body = api.get("/api/market/quotes/btc-usdt").json()
    assert body == {"symbol": "BTC-USDT", "price": "57436.11000000", "bid": "57436.10000000", "ask": "57436.12000000",
                    "ts": "2026-12-03T14:30:00Z", "provider": "finnhub", "cached": False, "stale": False,
                    "age_seconds": 0.0}
    assert api.get("/api/market/quotes/BTC-USDT").json()["cached"] is True


@pytest.mark.django_db
def test_quote_api_with_every_provider_down_is_a_503_naming_each(api, fake_chain, clock):
    fake_chain.update(alpaca=[DOWN], finnhub=[FailureKind.TIMEOUT])
    response = api.get("/api/market/quotes/SPY")
    assert response.status_code == 503
    assert response.json() == {
        "detail": "No market-data provider is available for SPY: alpaca: server error 500; finnhub: no answer within "
                  "5 s; twelvedata: not configured: provider keys are set in the admin",
        "errors": {"provider": ["alpaca: server error 500", "finnhub: no answer within 5 s",
                                "twelvedata: not configured: provider keys are set in the admin"]}}


@pytest.mark.django_db
def test_quote_api_serves_a_stale_quote_marked_stale(api, fake_chain, clock):
    fake_chain.update(alpaca=["101", DOWN], finnhub=[DOWN])
    api.get("/api/market/quotes/SPY")
    clock.shift(60)
    body = api.get("/api/market/quotes/SPY").json()
    assert (body["price"], body["provider"], body["stale"], body["age_seconds"]) == ("101.00000000", "alpaca", True, 60.0)


@pytest.mark.django_db
def test_quote_api_refuses_a_malformed_symbol(api):
    response = api.get("/api/market/quotes/%3Cscript%3E")
    assert response.status_code == 400 and "symbol" in response.json()["errors"]


@pytest.mark.django_db
def test_provider_api_lists_breakers_and_needs_a_login(api, anonymous_api, fake_chain, clock):
    fake_chain.update(alpaca=[FailureKind.AUTH])
    api.get("/api/market/quotes/SPY")
    body = api.get("/api/market/providers").json()
    assert [(p["name"], p["configured"], p["state"]) for p in body] == [
        ("alpaca", True, "open"), ("finnhub", True, "closed"), ("twelvedata", False, "closed")]
    assert body[0]["last_error"] == "alpaca: key refused (401)" and body[0]["retry_at"] == "2026-12-03T14:30:30Z"
    assert anonymous_api.get("/api/market/providers").status_code == 401
    assert anonymous_api.get("/api/market/quotes/SPY").status_code == 401


@pytest.mark.django_db
def test_the_page_needs_a_login(client):
    response = client.get("/market/providers")
    assert response.status_code == 302 and "/login/" in response["Location"]


@pytest.mark.django_db
def test_the_schema_documents_quote_prices_as_decimal_strings(api):
    schema = api.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    quote = schema["components"]["schemas"]["Quote"]["properties"]
    assert [(quote[f]["type"], quote[f]["format"]) for f in ("price", "bid", "ask")] == [("string", "decimal")] * 3
    assert set(schema["paths"]["/api/market/quotes/{symbol}"]["get"]["responses"]) == {"200", "400", "503"}
