"""Fixtures of the ingestion tests: a fresh encryption key, and a bar source that records what it is asked."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from cryptography.fernet import Fernet

from cohorts.providers.base import FailureKind, ProviderBar, ProviderError


@pytest.fixture(autouse=True)
def encryption_key(settings) -> str:
    """One Fernet key in FIELD_ENCRYPTION_KEYS, as production configures it."""
    key = Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEYS = [key]
    return key


def bar_at(ts: datetime, shift: str = "0") -> ProviderBar:
    """A bar whose values carry all eight decimal places (exactness shows); `shift` moves every price."""
    base = Decimal("187.12345678") + Decimal(int(ts.timestamp()) // 60 % 97) / 100 + Decimal(shift)
    return ProviderBar(ts=ts, open=base, high=base + Decimal("0.50000001"), low=base - Decimal("0.25000003"),
                       close=base + Decimal("0.10000007"), volume=Decimal("1234.00012345"))


class FakeSource:
    """Answers every minute the test says trades; records each (symbol, start, end) it is asked for.

    `minutes(symbol, start, end)` decides which minutes have bars (default: every minute asked);
    `fail_on` = a start time whose request fails like a rate-limited provider; `chain` answers as the
    quote chain does, (bars, provider name)."""

    name = "fake"

    def __init__(self, *, has_bar=None, fail_on: datetime | None = None, chain: bool = False, shift: str = "0"):
        self.calls: list[tuple[str, datetime, datetime]] = []
        self.has_bar = has_bar or (lambda ts: True)
        self.fail_on = fail_on
        self.chain = chain
        self.shift = shift

    def bars(self, symbol: str, start: datetime, end: datetime):
        self.calls.append((symbol, start, end))
        if self.fail_on is not None and start <= self.fail_on < end:
            raise ProviderError("fake", FailureKind.RATE_LIMITED, "429 Too Many Requests: API rate limit exceeded",
                                retry_after=30)
        bars, ts = [], start
        while ts < end:
            if self.has_bar(ts):
                bars.append(bar_at(ts, self.shift))
            ts += timedelta(minutes=1)
        return (bars, "fake-chain") if self.chain else bars


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.fixture
def market_data(monkeypatch):
    """Makes the configured chain (`market_data()`, for the beat task and `sync_bars`) the given source."""
    import cohorts.tasks
    from cohorts.providers import registry

    def install(source):
        monkeypatch.setattr(registry, "market_data", lambda: source)
        monkeypatch.setattr(cohorts.tasks, "market_data", lambda: source)
        return source

    return install
