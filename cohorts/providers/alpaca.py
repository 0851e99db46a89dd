"""Alpaca market data through alpaca-py: stocks with `StockHistoricalDataClient` (/v2/stocks/...), crypto pairs
with `CryptoHistoricalDataClient` (/v1beta3/crypto/us/...), both pointed at `base_url` by `url_override`.

Wire format (what the SDK sends, read from alpaca-py 0.44.0): GET with headers APCA-API-KEY-ID and
APCA-API-SECRET-KEY; the latest quote is one snapshot (`/v2/stocks/snapshots?symbols=SPY&feed=iex`, answered
`{"SPY": {"latestTrade": {"t", "p", ...}, "latestQuote": {"t", "bp", "ap", ...}, ...}}`; crypto
`/v1beta3/crypto/us/snapshots?symbols=BTC/USD`, answered `{"snapshots": {"BTC/USD": {...}}}`), so the trade and
the quote come from the same moment in one call. Bars: `/v2/stocks/bars` or `/v1beta3/crypto/us/bars` with
`symbols, timeframe=1Min, start, end, limit=10000, feed`, answered `{"bars": {"SPY": [{"t", "o", "h", "l", "c", "v",
...}]}, "next_page_token": ...}`; the SDK follows `next_page_token` (sent back as `page_token`) to the last page.
Alpaca's `end` is inclusive, so bars at `end` are dropped here.

The SDK's clients have no timeout and retry 429 and 504 three times, three seconds apart. Their HTTP session is
replaced by a `ProviderSession` (the one seam alpaca-py offers, its `_session` attribute): every request then has
the timeout, and an HTTP error becomes a `ProviderError` before the SDK sees the status, so it never retries and a
rate limit or an outage surfaces at once, for the quote chain to decide. The clients run with `raw_data=True`:
the session hands them bodies parsed with Decimal, and their pydantic models (which hold floats) are never built."""
from __future__ import annotations

import time
from datetime import datetime

from alpaca.common.exceptions import APIError
from alpaca.data.enums import DataFeed
from alpaca.data.historical.crypto import CryptoHistoricalDataClient
from alpaca.data.historical.stock import StockHistoricalDataClient
from alpaca.data.requests import (
    CryptoBarsRequest,
    CryptoLatestTradeRequest,
    CryptoSnapshotRequest,
    StockBarsRequest,
    StockLatestTradeRequest,
    StockSnapshotRequest,
)
from alpaca.data.timeframe import TimeFrame
from django.conf import settings

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
    utc_from_text,
)

PUBLIC_URL = "https://data.alpaca.markets"


class AlpacaProvider(MarketDataProvider):
    name = "alpaca"
    health_symbol = "SPY"  # a stock: its endpoint checks the keys (crypto data needs none)
    health_crypto_symbol = "BTC/USD"  # asked instead when no keys are configured

    def __init__(self, *, credentials: Credentials | None, base_url: str | None = None, timeout: float = 5.0):
        self.base_url = (base_url or PUBLIC_URL).rstrip("/")
        self.timeout = timeout
        self.feed = DataFeed(getattr(settings, "ALPACA_DATA_FEED", "iex"))  # iex: the free plan's stock feed
        keys = {"api_key": credentials.key_id, "secret_key": credentials.secret} if credentials else {}
        self._stocks: StockHistoricalDataClient | None = None
        if credentials and credentials.key_id and credentials.secret:
            self._stocks = StockHistoricalDataClient(**keys, raw_data=True, url_override=self.base_url)
            self._stocks._session = self._session()
        self._crypto = CryptoHistoricalDataClient(**(keys if self._stocks else {}), raw_data=True,
                                                  url_override=self.base_url)
        self._crypto._session = self._session()

    def _session(self) -> ProviderSession:
        return ProviderSession(provider=self.name, timeout=self.timeout, message_keys=("message",))

    def latest_quote(self, symbol: str) -> Quote:
        spelling = mapped_symbol(self.name, symbol)
        if is_crypto(symbol):
            answer = self._call(self._crypto.get_crypto_snapshot, CryptoSnapshotRequest(symbol_or_symbols=spelling))
        else:
            answer = self._call(self._stock_client().get_stock_snapshot,
                                StockSnapshotRequest(symbol_or_symbols=spelling, feed=self.feed))
        if not isinstance(answer, dict) or not answer.get(spelling):
            raise ProviderError(self.name, FailureKind.NOT_FOUND, f"no snapshot of {spelling} (NeoLight {symbol})")
        return self._quote(symbol, spelling, answer[spelling])

    def _quote(self, symbol: str, spelling: str, snapshot: dict) -> Quote:
        trade, quote = snapshot.get("latestTrade"), snapshot.get("latestQuote")
        what = f"the snapshot of {spelling}"
        bid = ask = None
        if isinstance(quote, dict):
            bid = decimal_from(self.name, quote.get("bp", 0), f"{what}: bid") or None  # 0: no bid on the book
            ask = decimal_from(self.name, quote.get("ap", 0), f"{what}: ask") or None
        if isinstance(trade, dict):
            price = positive_price(self.name, field(self.name, trade, "p", f"{what}'s latest trade"),
                                   f"{what}: last trade price")
            ts = utc_from_text(self.name, field(self.name, trade, "t", f"{what}'s latest trade"), f"{what}: trade time")
        elif bid and ask:
            price = (bid + ask) / 2
            ts = utc_from_text(self.name, field(self.name, quote, "t", f"{what}'s latest quote"), f"{what}: quote time")
        else:
            raise ProviderError(self.name, FailureKind.BAD_DATA, f"{what} has neither a trade nor a two-sided quote")
        if bid is not None and bid <= 0 or ask is not None and ask <= 0:
            raise ProviderError(self.name, FailureKind.BAD_DATA, f"{what} has a bid or ask that is not positive")
        return Quote(symbol=symbol, price=price, ts=ts, provider=self.name, bid=bid, ask=ask)

    def bars(self, symbol: str, start: datetime, end: datetime) -> list[ProviderBar]:
        start, end = aware_utc(start, "start"), aware_utc(end, "end")
        spelling = mapped_symbol(self.name, symbol)
        if start >= end:
            return []
        if is_crypto(symbol):
            request = CryptoBarsRequest(symbol_or_symbols=spelling, timeframe=TimeFrame.Minute, start=start, end=end)
            answer = self._call(self._crypto.get_crypto_bars, request)
        else:
            request = StockBarsRequest(symbol_or_symbols=spelling, timeframe=TimeFrame.Minute, start=start, end=end,
                                       feed=self.feed)
            answer = self._call(self._stock_client().get_stock_bars, request)
        if not isinstance(answer, dict):
            raise ProviderError(self.name, FailureKind.BAD_DATA, f"the bars of {spelling} are not a JSON object")
        rows = answer.get(spelling) or []
        if not isinstance(rows, list):
            raise ProviderError(self.name, FailureKind.BAD_DATA, f"the bars of {spelling} are not a list")
        bars = [self._bar(spelling, row) for row in rows]
        return sorted((bar for bar in bars if start <= bar.ts < end), key=lambda bar: bar.ts)

    def _bar(self, spelling: str, row: dict) -> ProviderBar:
        what = f"a bar of {spelling}"
        ts = utc_from_text(self.name, field(self.name, row, "t", what), f"{what}: time")
        what = f"the {ts:%Y-%m-%d %H:%M} bar of {spelling}"
        prices = {key: positive_price(self.name, field(self.name, row, key, what), f"{what}: {key}") for key in "ohlc"}
        volume = decimal_from(self.name, field(self.name, row, "v", what), f"{what}: volume")
        return ProviderBar(ts=ts, open=prices["o"], high=prices["h"], low=prices["l"], close=prices["c"],
                           volume=volume)

    def health(self) -> Health:
        started = time.perf_counter()
        try:
            if self._stocks is not None:
                self._call(self._stocks.get_stock_latest_trade,
                           StockLatestTradeRequest(symbol_or_symbols=self.health_symbol, feed=self.feed))
            else:
                self._call(self._crypto.get_crypto_latest_trade,
                           CryptoLatestTradeRequest(symbol_or_symbols=self.health_crypto_symbol))
        except ProviderError as exc:
            return Health(provider=self.name, ok=False, latency_ms=None, detail=exc.message)
        detail = "" if self._stocks is not None else "no API key: crypto data only"
        return Health(provider=self.name, ok=True, latency_ms=(time.perf_counter() - started) * 1000, detail=detail)

    def _stock_client(self) -> StockHistoricalDataClient:
        if self._stocks is None:
            raise ProviderError(self.name, FailureKind.AUTH, "no API key and secret configured: Alpaca's stock data "
                                                             "needs both")
        return self._stocks

    def _call(self, method, request):
        """One SDK call; whatever escapes the session (the SDK's own checks of the body) is BAD_DATA."""
        try:
            return method(request)
        except ProviderError:
            raise
        except APIError as exc:  # not reached while the session raises first; kept for a changed SDK
            raise ProviderError(self.name, FailureKind.UNAVAILABLE, f"HTTP {exc.status_code}: {exc}") from exc
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise ProviderError(self.name, FailureKind.BAD_DATA, f"unexpected answer ({exc})") from exc
