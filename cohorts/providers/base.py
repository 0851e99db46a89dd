"""What every market-data provider offers and how it fails, in NeoLight's types.

An adapter turns its provider's answer into `Quote` and `ProviderBar` values (prices as Decimal, parsed once
from the provider's text) and every failure into a `ProviderError` whose `kind` says what went wrong, so the
quote chain can decide whether to try the next provider and an operator reads a clear sentence."""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from neolight.errors import ApplicationError


class FailureKind(StrEnum):
    AUTH = "auth"  # 401/403: the key is missing, wrong or not allowed this data
    RATE_LIMITED = "rate_limited"  # 429: too many calls; `retry_after` when the provider says
    UNAVAILABLE = "unavailable"  # 5xx, connection refused or reset
    TIMEOUT = "timeout"  # no answer within the configured timeout
    BAD_DATA = "bad_data"  # malformed JSON, missing fields, all-zero quote
    NOT_FOUND = "not_found"  # unknown symbol, or no data in the range asked for


@dataclass(frozen=True)
class Credentials:
    """A provider's keys: Alpaca uses both, Finnhub and TwelveData only `key_id` (their API key)."""

    key_id: str
    secret: str = ""

    def __repr__(self) -> str:  # never print a secret
        return f"Credentials(key_id='{self.key_id[:4]}…')"


@dataclass(frozen=True)
class Quote:
    symbol: str  # NeoLight's symbol (e.g. BTC-USDT, SPY), not the provider's spelling
    price: Decimal  # last trade, or the mid of bid and ask when the provider has no last trade
    ts: datetime  # UTC time the provider gives for the quote
    provider: str
    bid: Decimal | None = None
    ask: Decimal | None = None


@dataclass(frozen=True)
class ProviderBar:
    """One 1-minute bar; `ts` is its open time in UTC."""

    ts: datetime
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal


@dataclass(frozen=True)
class Health:
    provider: str
    ok: bool
    latency_ms: float | None
    detail: str = ""


class ProviderError(ApplicationError):
    """A provider could not answer. `kind` is a FailureKind; `retry_after` seconds when the provider said."""

    def __init__(self, provider: str, kind: FailureKind, message: str, *, retry_after: float | None = None):
        super().__init__(f"{provider}: {message}", field="provider")
        self.provider = provider
        self.kind = FailureKind(kind)
        self.retry_after = retry_after


class MarketDataProvider(ABC):
    """One source of quotes and 1-minute bars."""

    name: str

    @abstractmethod
    def latest_quote(self, symbol: str) -> Quote:
        """The latest quote of `symbol`, or ProviderError."""

    @abstractmethod
    def bars(self, symbol: str, start: datetime, end: datetime) -> list[ProviderBar]:
        """1-minute bars with start <= ts < end, oldest first; [] when the market had none; or ProviderError."""

    @abstractmethod
    def health(self) -> Health:
        """A cheap call that tells whether the provider answers, and how fast."""
