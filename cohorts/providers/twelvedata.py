"""Twelve Data through its documented HTTP API, with a small `requests` client (the `twelvedata` SDK parses
with float and turns errors into its own exceptions without the HTTP details; see finnhub.py for the same choice).

Wire format: GET `{base}/quote?symbol=AAPL&apikey=...` → `{"symbol", "datetime", "timestamp", "last_quote_at",
"open", "high", "low", "close", "volume", ...}` with prices as strings; GET `{base}/time_series` with `symbol,
interval=1min, start_date, end_date` ("YYYY-MM-DD HH:MM:SS"), `timezone=UTC, order=asc, outputsize=5000, apikey`
→ `{"meta": {...}, "values": [{"datetime", "open", "high", "low", "close", "volume"}, ...], "status": "ok"}`.
Errors arrive as HTTP 200 with `{"code": 401|403|429|400|404|5xx, "message": ..., "status": "error"}`; a range
without bars is code 400 "No data is available on the specified dates", which is `[]` for bars. One request
answers at most 5000 bars, so a longer range is asked for in windows of 4999 minutes (the end is
inclusive: 5000 minute stamps)."""
from __future__ import annotations

import time
from datetime import datetime, timedelta

from cohorts.providers.base import (
    Credentials,
    FailureKind,
    Health,
    MarketDataProvider,
    ProviderBar,
    ProviderError,
    Quote,
)
from cohorts.providers.wire import (
    ProviderSession,
    aware_utc,
    decimal_from,
    field,
    mapped_symbol,
    positive_price,
    rate_limited,
    retry_after_seconds,
    utc_from_text,
    utc_from_unix,
)

PUBLIC_URL = "https://api.twelvedata.com"
MAX_OUTPUT = 5000
NO_DATA = "no data is available"


class TwelveDataProvider(MarketDataProvider):
    name = "twelvedata"

    def __init__(self, *, credentials: Credentials | None, base_url: str | None = None, timeout: float = 5.0):
        self.base_url = (base_url or PUBLIC_URL).rstrip("/")
        self.timeout = timeout
        self.credentials = credentials
        self._http = ProviderSession(provider=self.name, timeout=timeout, message_keys=("message",))

    def _get(self, path: str, params: dict) -> dict:
        """The answer of a GET, or ProviderError for an error in the body (code 400 "no data" is `NoData`)."""
        if not (self.credentials and self.credentials.key_id):
            raise ProviderError(self.name, FailureKind.AUTH, "no API key configured")
        response = self._http.get(f"{self.base_url}{path}", params={**params, "apikey": self.credentials.key_id},
                                  allow_redirects=False)
        answer = response.json()
        if not isinstance(answer, dict):
            raise ProviderError(self.name, FailureKind.BAD_DATA, f"the answer of {path} is not a JSON object")
        if answer.get("status") == "error":
            raise self._body_error(answer, response.headers.get("Retry-After"))
        return answer

    def _body_error(self, answer: dict, retry_after: str | None) -> ProviderError:
        code, message = answer.get("code"), str(answer.get("message") or "no message")
        if code in (401, 403):
            return ProviderError(self.name, FailureKind.AUTH, f"code {code}, the key was refused: {message}")
        if code == 429:
            return rate_limited(self.name, f"code 429: {message}", retry_after_seconds(retry_after))
        if code == 400 and NO_DATA in message.lower():
            return NoData(self.name, FailureKind.NOT_FOUND, message)
        if code in (400, 404):
            return ProviderError(self.name, FailureKind.NOT_FOUND, f"code {code}: {message}")
        if isinstance(code, int) and code >= 500:
            return ProviderError(self.name, FailureKind.UNAVAILABLE, f"code {code}: {message}")
        return ProviderError(self.name, FailureKind.BAD_DATA, f"error answer with code {code!r}: {message}")

    def latest_quote(self, symbol: str) -> Quote:
        spelling = mapped_symbol(self.name, symbol)
        answer = self._get("/quote", {"symbol": spelling})
        what = f"the quote of {spelling}"
        price = positive_price(self.name, field(self.name, answer, "close", what), f"{what}: close")
        stamp = answer.get("last_quote_at") or field(self.name, answer, "timestamp", what)
        return Quote(symbol=symbol, price=price, ts=utc_from_unix(self.name, stamp, f"{what}: time"),
                     provider=self.name)

    def bars(self, symbol: str, start: datetime, end: datetime) -> list[ProviderBar]:
        start, end = aware_utc(start, "start"), aware_utc(end, "end")
        spelling = mapped_symbol(self.name, symbol)
        bars: dict[datetime, ProviderBar] = {}
        window = start
        while window < end:
            window_end = min(window + timedelta(minutes=MAX_OUTPUT - 1), end)  # its end is inclusive
            for bar in self._window(spelling, window, window_end):
                if window <= bar.ts < window_end:
                    bars[bar.ts] = bar
            window = window_end
        return [bars[ts] for ts in sorted(bars)]

    def _window(self, spelling: str, start: datetime, end: datetime) -> list[ProviderBar]:
        params = {"symbol": spelling, "interval": "1min", "timezone": "UTC", "order": "asc",
                  "outputsize": MAX_OUTPUT, "start_date": f"{start:%Y-%m-%d %H:%M:%S}",
                  "end_date": f"{end:%Y-%m-%d %H:%M:%S}"}
        try:
            answer = self._get("/time_series", params)
        except NoData:
            return []
        rows = answer.get("values")
        if rows is None:
            return []
        if not isinstance(rows, list):
            raise ProviderError(self.name, FailureKind.BAD_DATA, f"the time series of {spelling} is not a list")
        return [self._bar(spelling, row) for row in rows]

    def _bar(self, spelling: str, row: dict) -> ProviderBar:
        what = f"a bar of {spelling}"
        ts = utc_from_text(self.name, field(self.name, row, "datetime", what), f"{what}: datetime")
        what = f"the {ts:%Y-%m-%d %H:%M} bar of {spelling}"
        prices = {key: positive_price(self.name, field(self.name, row, key, what), f"{what}: {key}")
                  for key in ("open", "high", "low", "close")}
        volume = decimal_from(self.name, row.get("volume", "0"), f"{what}: volume")  # forex pairs have none
        return ProviderBar(ts=ts, volume=volume, **prices)

    def health(self) -> Health:
        started = time.perf_counter()
        try:
            self._get("/api_usage", {})
        except ProviderError as exc:
            return Health(provider=self.name, ok=False, latency_ms=None, detail=exc.message)
        return Health(provider=self.name, ok=True, latency_ms=(time.perf_counter() - started) * 1000)


class NoData(ProviderError):
    """Twelve Data's answer for a range without bars (code 400 "No data is available on the specified dates")."""
