"""In-process providers that follow a script: each call takes the next outcome (the last one repeats)."""
from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from cohorts.providers.base import FailureKind, Health, MarketDataProvider, ProviderBar, ProviderError, Quote

QUOTE_TS = datetime(2026, 12, 3, 14, 30, tzinfo=UTC)
MESSAGES = {
    FailureKind.UNAVAILABLE: "server error 500",
    FailureKind.TIMEOUT: "no answer within 5 s",
    FailureKind.RATE_LIMITED: "rate limited (429)",
    FailureKind.BAD_DATA: "all-zero quote",
    FailureKind.AUTH: "key refused (401)",
    FailureKind.NOT_FOUND: "unknown symbol",
}
SCRIPTS: dict[str, list] = {}  # outcomes of the registry-built fakes below, by provider name
BUILT: list[dict] = []  # the constructor arguments the registry passed


class ScriptedProvider(MarketDataProvider):
    """Outcomes: a price (str or Decimal) → a quote; a FailureKind → that ProviderError; an exception → raised;
    a list → those bars."""

    def __init__(self, name: str, *outcomes):
        self.name = name
        self.outcomes = list(outcomes) or ["100"]
        self.calls: list[str] = []

    def _next(self, symbol: str):
        self.calls.append(symbol)
        outcome = self.outcomes.pop(0) if len(self.outcomes) > 1 else self.outcomes[0]
        if isinstance(outcome, FailureKind):
            raise ProviderError(self.name, outcome, MESSAGES[outcome])
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    def latest_quote(self, symbol: str) -> Quote:
        price = Decimal(self._next(symbol))
        return Quote(symbol=symbol, price=price, ts=QUOTE_TS, provider=self.name,
                     bid=price - Decimal("0.01"), ask=price + Decimal("0.01"))

    def bars(self, symbol: str, start: datetime, end: datetime) -> list[ProviderBar]:
        return self._next(symbol)

    def health(self) -> Health:
        return Health(provider=self.name, ok=True, latency_ms=1.0)


class _Registered(ScriptedProvider):
    """Built by the registry (`MARKET_DATA_PROVIDERS` names it by dotted path); outcomes from SCRIPTS[name]."""

    name = "fake"
    needs_credentials = True

    def __init__(self, *, credentials, base_url=None, timeout=5.0):
        BUILT.append({"name": self.name, "credentials": credentials, "base_url": base_url, "timeout": timeout})
        self.outcomes = SCRIPTS.setdefault(self.name, ["100"])  # shared: consumed across instances
        self.calls = []


class FakeAlpaca(_Registered):
    name = "alpaca"


class FakeFinnhub(_Registered):
    name = "finnhub"


class FakeTwelveData(_Registered):
    name = "twelvedata"


class FakeStored(_Registered):
    name = "stored"
    needs_credentials = False
