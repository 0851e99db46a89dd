"""Finnhub through its documented HTTP API, with a small `requests` client.

finnhub-python would add nothing here: it parses bodies with float (prices must be parsed once, with Decimal),
joins its base URL and path with a double slash, and hides the Retry-After header NeoLight reports; a session of
our own gives the timeout, the error map and Decimal JSON in one place, shared with the other adapters.

Wire format: GET `{base}/quote?symbol=AAPL` → `{"c", "d", "dp", "h", "l", "o", "pc", "t"}` (price fields, `t` in
Unix seconds; all zero for a symbol Finnhub does not know); GET `{base}/stock/candle` or `{base}/crypto/candle`
with `symbol, resolution=1, from, to` (Unix seconds, `to` inclusive) → `{"s": "ok", "t": [...], "o": [...],
"h": [...], "l": [...], "c": [...], "v": [...]}` or `{"s": "no_data"}`. The key goes in the `X-Finnhub-Token`
header (Finnhub also reads a `token` parameter; a header keeps it out of URLs and logs). Errors: 401/403
`{"error": "..."}`, 429 `{"error": "API limit reached. ..."}`."""
from __future__ import annotations

import math
import time
from datetime import datetime

from cohorts.providers.base import (
    Credentials,
    FailureKind,
    Health,
    MarketDataProvider,
    ProviderBar,
    ProviderError,
    Quote,
)
from cohorts.providers.symbols import is_crypto
from cohorts.providers.wire import (
    ProviderSession,
    aware_utc,
    decimal_from,
    field,
    mapped_symbol,
    positive_price,
    utc_from_unix,
)

PUBLIC_URL = "https://finnhub.io/api/v1"
QUOTE_PRICES = ("c", "h", "l", "o", "pc")


class FinnhubProvider(MarketDataProvider):
    name = "finnhub"

    def __init__(self, *, credentials: Credentials | None, base_url: str | None = None, timeout: float = 5.0):
        self.base_url = (base_url or PUBLIC_URL).rstrip("/")
        self.timeout = timeout
        self.credentials = credentials
        self._http = ProviderSession(provider=self.name, timeout=timeout, message_keys=("error", "message"))
        if credentials and credentials.key_id:
            self._http.headers["X-Finnhub-Token"] = credentials.key_id

    def _get(self, path: str, params: dict) -> object:
        if not (self.credentials and self.credentials.key_id):
            raise ProviderError(self.name, FailureKind.AUTH, "no API key configured")
        return self._http.get(f"{self.base_url}{path}", params=params, allow_redirects=False).json()

    def latest_quote(self, symbol: str) -> Quote:
        spelling = mapped_symbol(self.name, symbol)
        answer = self._get("/quote", {"symbol": spelling})
        what = f"the quote of {spelling}"
        if not isinstance(answer, dict):
            raise ProviderError(self.name, FailureKind.BAD_DATA, f"{what} is not a JSON object")
        numbers = [decimal_from(self.name, field(self.name, answer, key, what), f"{what}: {key}")
                   for key in (*QUOTE_PRICES, "t")]
        if not any(numbers):
            raise ProviderError(self.name, FailureKind.BAD_DATA, f"{what} is all zeros: Finnhub has no price for "
                                                                 f"{spelling} (its answer for an unknown symbol)")
        price = positive_price(self.name, answer["c"], f"{what}: current price")
        ts = utc_from_unix(self.name, answer["t"], f"{what}: time")
        return Quote(symbol=symbol, price=price, ts=ts, provider=self.name)

    def bars(self, symbol: str, start: datetime, end: datetime) -> list[ProviderBar]:
        start, end = aware_utc(start, "start"), aware_utc(end, "end")
        spelling = mapped_symbol(self.name, symbol)
        if start >= end:
            return []
        path = "/crypto/candle" if is_crypto(symbol) else "/stock/candle"
        params = {"symbol": spelling, "resolution": "1", "from": math.floor(start.timestamp()),
                  "to": math.ceil(end.timestamp())}
        answer = self._get(path, params)
        what = f"the candles of {spelling}"
        status = field(self.name, answer, "s", what)
        if status == "no_data":
            return []
        if status != "ok":
            raise ProviderError(self.name, FailureKind.BAD_DATA, f"{what} have status {status!r}")
        columns = {key: field(self.name, answer, key, what) for key in "tohlcv"}
        if any(not isinstance(values, list) for values in columns.values()) \
                or len({len(values) for values in columns.values()}) != 1:
            raise ProviderError(self.name, FailureKind.BAD_DATA, f"{what}: columns t, o, h, l, c, v differ in length")
        bars = [self._bar(spelling, *row) for row in zip(*(columns[key] for key in "tohlcv"))]
        return sorted((bar for bar in bars if start <= bar.ts < end), key=lambda bar: bar.ts)

    def _bar(self, spelling: str, t, o, h, low, c, v) -> ProviderBar:
        ts = utc_from_unix(self.name, t, f"a candle time of {spelling}")
        what = f"the {ts:%Y-%m-%d %H:%M} candle of {spelling}"
        return ProviderBar(ts=ts, open=positive_price(self.name, o, f"{what}: open"),
                           high=positive_price(self.name, h, f"{what}: high"),
                           low=positive_price(self.name, low, f"{what}: low"),
                           close=positive_price(self.name, c, f"{what}: close"),
                           volume=decimal_from(self.name, v, f"{what}: volume"))

    def health(self) -> Health:
        started = time.perf_counter()
        try:
            self._get("/stock/market-status", {"exchange": "US"})
        except ProviderError as exc:
            return Health(provider=self.name, ok=False, latency_ms=None, detail=exc.message)
        return Health(provider=self.name, ok=True, latency_ms=(time.perf_counter() - started) * 1000)
