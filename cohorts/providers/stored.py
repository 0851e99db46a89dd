"""The bars NeoLight has stored (cohorts.models.Bar) behind the provider interface: for replays and tests.

The latest quote is the close of the last stored bar, dated at that bar's end (its open time plus one minute:
the moment its close was the last price)."""
from __future__ import annotations

import time
from datetime import datetime, timedelta

from django.db import DatabaseError

from cohorts.providers.base import (
    Credentials,
    FailureKind,
    Health,
    MarketDataProvider,
    ProviderBar,
    ProviderError,
    Quote,
)
from cohorts.providers.wire import aware_utc, mapped_symbol

BAR = timedelta(minutes=1)


class StoredBarsProvider(MarketDataProvider):
    name = "stored"

    def __init__(self, *, credentials: Credentials | None, base_url: str | None = None, timeout: float = 5.0):
        self.timeout = timeout  # credentials and base_url: the same signature as every adapter; nothing to call

    def latest_quote(self, symbol: str) -> Quote:
        instrument = self._instrument(symbol)
        last = self._read(lambda: instrument.bars.order_by("-ts").only("ts", "close").first())
        if last is None:
            raise ProviderError(self.name, FailureKind.NOT_FOUND, f"no stored bars of {symbol}")
        return Quote(symbol=symbol, price=last.close, ts=last.ts + BAR, provider=self.name)

    def bars(self, symbol: str, start: datetime, end: datetime) -> list[ProviderBar]:
        start, end = aware_utc(start, "start"), aware_utc(end, "end")
        instrument = self._instrument(symbol)
        if start >= end:
            return []
        rows = self._read(lambda: list(instrument.bars.filter(ts__gte=start, ts__lt=end).order_by("ts")
                                       .values_list("ts", "open", "high", "low", "close", "volume")))
        return [ProviderBar(ts=ts, open=o, high=h, low=low, close=c, volume=v) for ts, o, h, low, c, v in rows]

    def health(self) -> Health:
        from cohorts.models import Bar

        started = time.perf_counter()
        try:
            self._read(lambda: Bar.objects.exists())
        except ProviderError as exc:
            return Health(provider=self.name, ok=False, latency_ms=None, detail=exc.message)
        return Health(provider=self.name, ok=True, latency_ms=(time.perf_counter() - started) * 1000)

    def _instrument(self, symbol: str):
        from cohorts.models import Instrument

        mapped_symbol(self.name, symbol)  # the same symbol rules as every provider
        instrument = self._read(lambda: Instrument.objects.filter(symbol=symbol).first())
        if instrument is None:
            raise ProviderError(self.name, FailureKind.NOT_FOUND, f"no instrument {symbol} is stored")
        return instrument

    def _read(self, query):
        try:
            return query()
        except DatabaseError as exc:
            raise ProviderError(self.name, FailureKind.UNAVAILABLE, f"the database did not answer ({exc})") from exc
