"""A provider's circuit breaker: closed → open after K failures within W → half-open after C (one trial) →
closed on success, open again on failure."""
from __future__ import annotations

from datetime import timedelta

from cohorts.providers.base import FailureKind, ProviderError
from cohorts.providers.breaker import CircuitBreaker
from tests.providers_chain.conftest import START


def fail(breaker: CircuitBreaker, kind: FailureKind = FailureKind.UNAVAILABLE, **kw) -> None:
    permit = breaker.acquire()
    assert permit is not None, "the breaker refused a call the test expected it to allow"
    breaker.record_failure(ProviderError(breaker.name, kind, "server error 500", **kw), permit=permit, latency_ms=12.5)


def succeed(breaker: CircuitBreaker) -> None:
    permit = breaker.acquire()
    assert permit is not None
    breaker.record_success(permit=permit, latency_ms=8.0)


def test_opens_after_three_failures_within_the_window(clock):
    breaker = CircuitBreaker("alpaca")
    fail(breaker)
    clock.shift(20)
    fail(breaker)
    assert breaker.snapshot().state == "closed" and breaker.acquire() is not None
    clock.shift(20)
    fail(breaker)
    snap = breaker.snapshot()
    assert snap.state == "open" and breaker.acquire() is None
    assert snap.opened_at == START + timedelta(seconds=40)
    assert snap.retry_at == START + timedelta(seconds=70)  # cool-down of 30 s
    assert (snap.calls, snap.failures, snap.last_error, snap.last_latency_ms) == (3, 3, "alpaca: server error 500", 12.5)


def test_failures_older_than_the_window_do_not_count(clock):
    breaker = CircuitBreaker("alpaca")
    fail(breaker)  # t=0
    clock.shift(30)
    fail(breaker)  # t=30
    clock.shift(40)
    fail(breaker)  # t=70: the one at t=0 is more than 60 s old
    assert breaker.snapshot().state == "closed"
    assert breaker.snapshot().failures_in_window == 2
    clock.shift(10)
    fail(breaker)  # t=80: 30, 70 and 80 lie within 60 s
    assert breaker.snapshot().state == "open"


def test_half_open_after_the_cool_down_lets_one_trial_through(clock):
    breaker, other_process = CircuitBreaker("alpaca"), CircuitBreaker("alpaca")
    for _ in range(3):
        fail(breaker)
    clock.shift(29)
    assert breaker.acquire() is None and breaker.snapshot().state == "open"
    clock.shift(1)
    assert breaker.snapshot().state == "half_open"
    trial = breaker.acquire()
    assert trial is not None and trial.trial
    assert other_process.acquire() is None  # one trial at a time
    assert "trial call is under way" in other_process.blocked_reason()


def test_a_successful_trial_closes_and_forgets_earlier_failures(clock):
    breaker = CircuitBreaker("alpaca")
    for _ in range(3):
        fail(breaker)
    clock.shift(30)
    succeed(breaker)
    snap = breaker.snapshot()
    assert (snap.state, snap.opened_at, snap.retry_at, snap.failures_in_window) == ("closed", None, None, 0)
    fail(breaker)
    fail(breaker)
    assert breaker.snapshot().state == "closed"  # two new failures, not five
    assert breaker.acquire() is not None


def test_a_failed_trial_opens_again_for_another_cool_down(clock):
    breaker = CircuitBreaker("alpaca")
    for _ in range(3):
        fail(breaker)
    clock.shift(30)
    fail(breaker, FailureKind.TIMEOUT)
    snap = breaker.snapshot()
    assert snap.state == "open" and breaker.acquire() is None
    assert snap.opened_at == START + timedelta(seconds=30) and snap.retry_at == START + timedelta(seconds=60)
    clock.shift(30)
    assert breaker.acquire().trial  # the next trial, after the new cool-down


def test_unknown_symbol_is_an_answer_not_a_failure(clock):
    breaker = CircuitBreaker("finnhub")
    for _ in range(5):
        fail(breaker, FailureKind.NOT_FOUND)
    snap = breaker.snapshot()
    assert (snap.state, snap.calls, snap.failures) == ("closed", 5, 0)


def test_a_refused_key_opens_at_once(clock):
    breaker = CircuitBreaker("alpaca")
    fail(breaker, FailureKind.AUTH)
    assert breaker.snapshot().state == "open" and breaker.acquire() is None


def test_a_rate_limit_with_retry_after_keeps_it_open_that_long(clock):
    breaker = CircuitBreaker("twelvedata")
    for _ in range(3):
        fail(breaker, FailureKind.RATE_LIMITED, retry_after=90)
    assert breaker.snapshot().retry_at == START + timedelta(seconds=90)
    clock.shift(60)
    assert breaker.acquire() is None
    clock.shift(30)
    assert breaker.acquire().trial


def test_thresholds_come_from_settings(clock, settings):
    settings.PROVIDER_BREAKER_FAILURES = 1
    settings.PROVIDER_BREAKER_COOLDOWN_SECONDS = 5
    breaker = CircuitBreaker("alpaca")
    fail(breaker)
    assert breaker.snapshot().retry_at == START + timedelta(seconds=5)
