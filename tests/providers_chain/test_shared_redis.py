"""With REDIS_URL, breakers and cached quotes are one per provider for every process: two QuoteServices with
Redis clients of their own see each other's failures, trials and quotes."""
from __future__ import annotations

from decimal import Decimal

import pytest
from django.conf import settings
from django.core.cache.backends.redis import RedisCache

from cohorts.providers.base import FailureKind
from cohorts.providers.service import QuoteService
from tests.providers_chain.fakes import ScriptedProvider

pytestmark = pytest.mark.skipif(not settings.REDIS_URL, reason="needs REDIS_URL (the breakers are shared in Redis)")


def process(alpaca_outcome, finnhub_outcome="102"):
    """A QuoteService as another process would have it: its own providers and its own Redis connection."""
    redis = RedisCache(settings.REDIS_URL, {})
    providers = [ScriptedProvider("alpaca", alpaca_outcome), ScriptedProvider("finnhub", finnhub_outcome)]
    return QuoteService(providers, cache=redis), providers


def test_a_breaker_opened_by_one_process_is_skipped_by_another(clock):
    web, _ = process(FailureKind.UNAVAILABLE)
    worker, (worker_alpaca, _) = process("101")
    for _ in range(3):
        assert web.quote("SPY").provider == "finnhub"
        clock.shift(3)
    answer = worker.quote("SPY")
    assert answer.provider == "finnhub" and worker_alpaca.calls == []  # the worker never calls the open alpaca
    assert [s.state for s in worker.status()] == ["open", "closed"]
    assert worker.status()[0].failures == 3


def test_only_one_process_gets_the_half_open_trial(clock):
    web, _ = process(FailureKind.UNAVAILABLE)
    for _ in range(3):
        web.quote("SPY")
        clock.shift(3)
    clock.shift(30)
    worker = process("101")[0]
    trial = web.breakers["alpaca"].acquire()
    assert trial is not None and trial.trial
    assert worker.breakers["alpaca"].acquire() is None
    web.breakers["alpaca"].record_success(permit=trial, latency_ms=5.0)
    assert worker.status()[0].state == "closed"


def test_a_quote_fetched_by_one_process_is_served_from_the_cache_to_another(clock):
    web, _ = process("101")
    worker, (worker_alpaca, worker_finnhub) = process("999")
    web.quote("BTC-USDT")
    clock.shift(1)
    answer = worker.quote("btc-usdt")
    assert (answer.price, answer.provider, answer.cached, answer.stale) == (Decimal("101"), "alpaca", True, False)
    assert worker_alpaca.calls == [] and worker_finnhub.calls == []
