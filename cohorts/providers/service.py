"""QuoteService: quotes and bars through the provider chain, each provider behind its circuit breaker.

A quote is answered, in this order, from: the fresh cache (younger than QUOTE_CACHE_SECONDS, shared by every
process when the cache is Redis); the first provider in the configured order whose breaker lets it be called
and that answers; the last-known copy (younger than QUOTE_STALE_SECONDS), marked stale, when no provider
answered. Otherwise `NoProviderAvailable` names every provider's reason. Each answer says which provider served
it, whether it came from the cache, whether it is stale, and its age (seconds since NeoLight fetched it; the
provider's own time of the quote is `ts`).

Both copies are one cache entry per symbol (`providers:quote:<SYMBOL>`, kept QUOTE_STALE_SECONDS) holding the
quote and when it was fetched; freshness is decided from that time, not from the entry's expiry. Processes that
miss the fresh copy at the same moment each call a provider (no stampede lock: a quote is one cheap call).
"""
from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import TypeVar

from django.conf import settings
from django.core.cache import cache as default_cache

from cohorts.providers.base import FailureKind, MarketDataProvider, ProviderBar, ProviderError, Quote
from cohorts.providers.breaker import STATE_WORDS, CircuitBreaker
from neolight.errors import ApplicationError

logger = logging.getLogger(__name__)
QUOTE_KEY = "providers:quote"
NOT_CONFIGURED = "not configured: provider keys are set in the admin"
T = TypeVar("T")


class NoProviderAvailable(ApplicationError):
    """Every provider failed, was skipped by its open breaker, or none is configured. `reasons`: name → why.
    The API answers it 503 (the request was sound; the data cannot be had now), each reason under `provider`."""

    status_code = 503

    def __init__(self, what: str, reasons: Mapping[str, str]):
        lines = [f"{name}: {why}" for name, why in reasons.items()]
        detail = "; ".join(lines) or "no provider is configured"
        super().__init__(f"No market-data provider is available for {what}: {detail}",
                         errors={"provider": lines or [detail]})
        self.reasons = dict(reasons)


@dataclass(frozen=True)
class QuoteAnswer:
    symbol: str
    price: Decimal
    bid: Decimal | None
    ask: Decimal | None
    ts: datetime  # the provider's time of the quote, UTC
    provider: str  # which provider served it (for a cached or stale answer: the one that served the copy)
    cached: bool  # from the cache rather than a provider call just now
    stale: bool  # the last-known copy, served because no provider answered
    age_seconds: float  # seconds since NeoLight fetched it from the provider
    fetched_at: datetime

    @classmethod
    def of(cls, quote: Quote, *, fetched_at: float, now: float, cached: bool = False, stale: bool = False):
        return cls(symbol=quote.symbol, price=quote.price, bid=quote.bid, ask=quote.ask, ts=quote.ts,
                   provider=quote.provider, cached=cached, stale=stale, age_seconds=round(max(0.0, now - fetched_at), 3),
                   fetched_at=datetime.fromtimestamp(fetched_at, UTC))


@dataclass(frozen=True)
class ProviderStatus:
    name: str
    configured: bool  # False: no credentials (or no adapter); it is not called
    detail: str  # why it is not configured, "" when it is
    state: str  # closed, open or half_open
    last_error: str
    last_error_at: datetime | None
    last_latency_ms: float | None
    calls: int
    successes: int
    failures: int
    failures_in_window: int
    opened_at: datetime | None
    retry_at: datetime | None  # when an open breaker lets a trial call through

    @property
    def state_words(self) -> str:
        return STATE_WORDS[self.state]


class QuoteService:
    """The provider chain. `providers` in the order they are tried; `not_configured` (name → why) only shows in
    `status()`. Breakers and cached quotes live in `cache` (Django's default cache unless given)."""

    def __init__(self, providers: Sequence[MarketDataProvider], *, not_configured: Mapping[str, str] | None = None,
                 cache=None, fresh_seconds: float | None = None, stale_seconds: float | None = None):
        self.providers = list(providers)
        self.not_configured = dict(not_configured or {})
        self.cache = cache if cache is not None else default_cache
        self.fresh_seconds = settings.QUOTE_CACHE_SECONDS if fresh_seconds is None else fresh_seconds
        self.stale_seconds = settings.QUOTE_STALE_SECONDS if stale_seconds is None else stale_seconds
        self.breakers = {p.name: CircuitBreaker(p.name, cache=self.cache) for p in self.providers}

    def quote(self, symbol: str) -> QuoteAnswer:
        """The latest quote of `symbol` (see the module's text for where it comes from), or NoProviderAvailable."""
        symbol = symbol.strip().upper()
        key = f"{QUOTE_KEY}:{symbol}"
        copy = self.cache.get(key)
        now = time.time()
        if copy is not None and now - copy["fetched_at"] < self.fresh_seconds:
            return QuoteAnswer.of(copy["quote"], fetched_at=copy["fetched_at"], now=now, cached=True)
        try:
            quote = self._through_chain(symbol, lambda p: p.latest_quote(symbol))
        except NoProviderAvailable:
            now = time.time()
            if copy is not None and now - copy["fetched_at"] < self.stale_seconds:
                return QuoteAnswer.of(copy["quote"], fetched_at=copy["fetched_at"], now=now, cached=True, stale=True)
            raise
        fetched_at = time.time()
        self.cache.set(key, {"quote": quote, "fetched_at": fetched_at}, max(1, int(self.stale_seconds)))
        return QuoteAnswer.of(quote, fetched_at=fetched_at, now=fetched_at)

    def bars(self, symbol: str, start: datetime, end: datetime) -> tuple[list[ProviderBar], str]:
        """1-minute bars of `symbol` in [start, end) from the first provider that answers, and its name."""
        symbol = symbol.strip().upper()
        served: list[str] = []

        def call(provider: MarketDataProvider) -> list[ProviderBar]:
            served.append(provider.name)
            return provider.bars(symbol, start, end)

        bars = self._through_chain(f"{symbol} bars", call)
        return bars, served[-1]

    def status(self) -> list[ProviderStatus]:
        """Each provider's breaker and counters: the chain in order, then those not configured. No provider call."""
        rows = [self._status(name, self.breakers[name], "") for name in self.breakers]
        rows += [self._status(name, CircuitBreaker(name, cache=self.cache), why)
                 for name, why in self.not_configured.items()]
        return rows

    # --- internals -----------------------------------------------------------------------------------
    def _through_chain(self, what: str, call: Callable[[MarketDataProvider], T]) -> T:
        reasons: dict[str, str] = {}
        for provider in self.providers:
            breaker = self.breakers[provider.name]
            permit = breaker.acquire()
            if permit is None:
                reasons[provider.name] = breaker.blocked_reason()
                continue
            started = time.perf_counter()
            try:
                answer = call(provider)
            except ProviderError as exc:
                error = exc
            except Exception as exc:  # an adapter's bug must not take the chain down: the next provider answers
                logger.exception("market-data provider %s failed unexpectedly", provider.name)
                error = ProviderError(provider.name, FailureKind.UNAVAILABLE, f"unexpected error: {exc!r}")
            else:
                breaker.record_success(permit=permit, latency_ms=_ms_since(started))
                return answer
            breaker.record_failure(error, permit=permit, latency_ms=_ms_since(started))
            reasons[provider.name] = error.message.removeprefix(f"{error.provider}: ")
        reasons.update({name: why for name, why in self.not_configured.items() if name not in reasons})
        raise NoProviderAvailable(what, reasons)

    @staticmethod
    def _status(name: str, breaker: CircuitBreaker, why: str) -> ProviderStatus:
        snap = breaker.snapshot()
        return ProviderStatus(
            name=name, configured=not why, detail=why, state=snap.state, last_error=snap.last_error,
            last_error_at=snap.last_error_at, last_latency_ms=snap.last_latency_ms, calls=snap.calls,
            successes=snap.successes, failures=snap.failures, failures_in_window=snap.failures_in_window,
            opened_at=snap.opened_at, retry_at=snap.retry_at)


def _ms_since(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 3)
