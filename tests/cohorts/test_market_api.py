"""/api/market: instruments and bars, exact amounts, paging, and clear 400s."""
from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

BARS = "/api/market/bars"


@pytest.mark.django_db
def test_market_api_requires_authentication(anonymous_api, crypto_day):
    assert anonymous_api.get("/api/market/instruments").status_code == 401
    assert anonymous_api.get(BARS, {"symbol": "BTC-USDT"}).status_code == 401


@pytest.mark.django_db
def test_instruments_lists_bar_counts_and_span(api, crypto_day):
    body = api.get("/api/market/instruments").json()
    btc = next(i for i in body if i["symbol"] == "BTC-USDT")
    assert btc["bar_count"] == 1440
    assert btc["asset_class"] == "crypto" and btc["quote_currency"] == "USDT"
    assert btc["first_bar_at"].startswith("2021-05-06T00:00:00")
    assert btc["last_bar_at"].startswith("2021-05-06T23:59:00")


@pytest.mark.django_db
def test_bars_are_exact_decimal_strings(api, crypto_day):
    response = api.get(BARS, {"symbol": "btc-usdt", "start": "2021-05-06T00:00:00Z", "end": "2021-05-06T00:03:00Z"})
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 3 and body["next"] is None
    assert body["results"][0] == {
        "ts": "2021-05-06T00:00:00Z", "open": "57436.11000000", "high": "57510.14000000",
        "low": "57430.00000000", "close": "57445.50000000", "volume": "149.20145100",
    }


@pytest.mark.django_db
def test_bars_resample_to_one_hour(api, crypto_day):
    body = api.get(BARS, {"symbol": "BTC-USDT", "start": "2021-05-06T00:00:00Z", "end": "2021-05-06T03:00:00Z",
                          "timeframe": "1h"}).json()
    assert [bar["ts"] for bar in body["results"]] == [
        "2021-05-06T00:00:00Z", "2021-05-06T01:00:00Z", "2021-05-06T02:00:00Z",
    ]
    minutes = api.get(BARS, {"symbol": "BTC-USDT", "start": "2021-05-06T00:00:00Z", "end": "2021-05-06T01:00:00Z"}).json()
    first_hour = body["results"][0]
    assert first_hour["open"] == minutes["results"][0]["open"]
    assert first_hour["close"] == minutes["results"][-1]["close"]
    assert first_hour["high"] == max(minutes["results"], key=lambda b: float(b["high"]))["high"]


@pytest.mark.django_db
def test_bars_page_through_a_long_window(api, crypto_day):
    first = api.get(BARS, {"symbol": "ETH-USDT", "timeframe": "15m", "limit": 40}).json()
    assert first["count"] == 40 and first["start"].startswith("2021-05-06T00:00:00")  # default: from the first bar
    pages = [first]
    while pages[-1]["next"]:
        pages.append(api.get(pages[-1]["next"]).json())
    assert [p["count"] for p in pages] == [40, 40, 16]  # a day is 96 quarter-hours
    assert pages[1]["results"][0]["ts"] == "2021-05-06T10:00:00Z"
    stamps = [bar["ts"] for page in pages for bar in page["results"]]
    assert len(set(stamps)) == 96 and stamps == sorted(stamps)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"symbol": "NOPE-USDT"}, "symbols"),
        ({}, "symbol"),
        ({"symbol": "BTC-USDT", "timeframe": "2m"}, "timeframe"),
        ({"symbol": "BTC-USDT", "start": "2021-05-06T02:00:00Z", "end": "2021-05-06T01:00:00Z"}, "end"),
        ({"symbol": "BTC-USDT", "start": "not-a-date"}, "start"),
        ({"symbol": "BTC-USDT", "limit": 0}, "limit"),
        ({"symbol": "BTC-USDT", "limit": 10**6}, "limit"),
    ],
)
def test_bad_bar_queries_get_400_naming_the_field(api, crypto_day, params, field):
    response = api.get(BARS, params)
    assert response.status_code == 400
    body = response.json()
    assert field in body["errors"] and body["detail"]


@pytest.mark.django_db
def test_window_without_bars_is_an_empty_page(api, crypto_day):
    body = api.get(BARS, {"symbol": "BTC-USDT", "start": "2020-01-01T00:00:00Z"}).json()
    assert body["count"] == 0 and body["results"] == [] and body["next"] is None


def rows_read(api, url: str, params: dict | None = None) -> tuple[dict, int]:
    """The page, and the most 1-minute rows its queries could read (their largest SQL LIMIT)."""
    with CaptureQueriesContext(connection) as queries:
        body = api.get(url, params).json()
    limits = [int(m) for q in queries.captured_queries if "cohorts_bar" in q["sql"]
              for m in re.findall(r"LIMIT (\d+)", q["sql"])]
    return body, max(limits)


HOURS = {"symbol": "BTC-USDT", "start": "2021-05-06T00:00:00Z", "timeframe": "1h"}


@pytest.mark.django_db
def test_one_hour_page_reads_a_bounded_number_of_minute_rows(api, crypto_day, settings):
    body, read = rows_read(api, BARS, HOURS)

    assert body["count"] == 24
    assert read <= settings.BARS_API_MAX_READ_ROWS + 1  # it was limit × 60 + 1 = 300,001
    assert read == 333 * 60 + 1  # whole hours only: 333 of them fit in 20,000 minutes


@pytest.mark.django_db
def test_one_hour_pages_stop_at_the_read_cap_and_link_the_rest(api, crypto_day, settings):
    whole_day = api.get(BARS, HOURS).json()["results"]
    settings.BARS_API_MAX_READ_ROWS = 600  # ten hours of minutes

    pages = [rows_read(api, BARS, HOURS)]
    while pages[-1][0]["next"]:
        pages.append(rows_read(api, pages[-1][0]["next"]))

    assert [body["count"] for body, _ in pages] == [10, 10, 4]
    assert [read for _, read in pages] == [601, 601, 601]
    assert [bar for body, _ in pages for bar in body["results"]] == whole_day  # same bars, no bucket split
