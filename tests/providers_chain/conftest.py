"""Fixtures of the quote-chain tests: a clean cache (Redis db of REDIS_URL, or local memory), the default
breaker and cache settings, and a frozen clock."""
from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.core.cache import cache

from cohorts.providers.base import Credentials
from tests.providers_chain import fakes

START = datetime(2026, 12, 3, 14, 30, tzinfo=UTC)
FAKES = "tests.providers_chain.fakes"


@pytest.fixture(autouse=True)
def chain_settings(settings):
    """K=3 failures in W=60 s open a breaker for C=30 s; quotes fresh for 2 s, last-known for 300 s."""
    settings.PROVIDER_BREAKER_FAILURES = 3
    settings.PROVIDER_BREAKER_WINDOW_SECONDS = 60
    settings.PROVIDER_BREAKER_COOLDOWN_SECONDS = 30
    settings.QUOTE_CACHE_SECONDS = 2
    settings.QUOTE_STALE_SECONDS = 300
    cache.clear()
    fakes.SCRIPTS.clear()
    fakes.BUILT.clear()
    yield settings
    cache.clear()


@pytest.fixture
def clock(time_machine):
    """Time stands still at START until the test moves it (`clock.shift(seconds)`)."""
    time_machine.move_to(START, tick=False)
    return time_machine


def keys_for(name: str) -> Credentials | None:
    """A credentials lookup for the registry: alpaca and finnhub have keys, twelvedata and stored none."""
    return None if name in ("twelvedata", "stored") else Credentials(key_id=f"{name}-key", secret="s3cret")


@pytest.fixture
def fake_chain(settings):
    """The registry builds alpaca → finnhub → twelvedata from the scripted fakes (twelvedata has no keys)."""
    settings.MARKET_DATA_PROVIDERS = [f"{FAKES}.FakeAlpaca", f"{FAKES}.FakeFinnhub", f"{FAKES}.FakeTwelveData"]
    settings.PROVIDER_CREDENTIALS_LOOKUP = "tests.providers_chain.conftest.keys_for"
    return fakes.SCRIPTS
