"""A circuit breaker per market-data provider, its state kept in Django's cache.

closed ──K counted failures within W seconds (or one AUTH failure)──▶ open
open ──cool-down C elapsed──▶ half-open: one trial call at a time (`cache.add` of a trial key)
half-open ──trial succeeds──▶ closed (failures before it are forgotten)
half-open ──trial fails──▶ open for another cool-down

Counted failures: UNAVAILABLE, TIMEOUT, RATE_LIMITED, BAD_DATA and AUTH. AUTH opens the breaker at once: a
refused key does not heal itself, and retrying it only burns the provider's patience. NOT_FOUND (an unknown
symbol, an empty range) is the provider answering, so it never counts. When a 429 says Retry-After, the
cool-down of the opening it causes lasts at least that long.

With REDIS_URL the cache is Redis, so every process (web, workers, beat) sees one breaker per provider; in
the embedded mode the cache is in-process. Keys of one provider, under `providers:breaker:<name>:`:
  state        {"state": "closed"|"open", "opened_at", "retry_at", "window_from"} (epoch seconds)
  seq, slot:i  the times of the last K counted failures: `incr(seq)` gives each failure its own slot
               (seq mod K), so concurrent failures never overwrite each other's time; "K failures within W"
               is "all K slots are within W"
  trial        held by the one caller trying the provider while half-open (`cache.add`, expires after C)
  calls, successes, failures   counters (`incr`)
  last_error, last_latency     last writer wins, which is what they mean

Races that remain, and why they are harmless: `state` is read-modified-written with get/set, so two
processes changing it at the same moment can lose one write (a failure recorded while a trial closes the
breaker may leave it closed; the next K failures open it again). Two processes seeing the K-th failure both
write "open" with nearly the same times. A trial whose process died frees its slot only after C; a trial
that overran C may, on finishing, release a later caller's slot (then two trials can run at once). K
concurrent failures of one provider more than K apart in `seq` would share a slot; with K ≥ 2 that needs
K calls in flight at once on one provider, each failing.
"""
from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from django.conf import settings
from django.core.cache import cache as default_cache

from cohorts.providers.base import FailureKind, ProviderError

CLOSED, OPEN, HALF_OPEN = "closed", "open", "half_open"
STATE_WORDS = {CLOSED: "closed", OPEN: "open", HALF_OPEN: "half-open"}
COUNTED = frozenset({FailureKind.UNAVAILABLE, FailureKind.TIMEOUT, FailureKind.RATE_LIMITED, FailureKind.BAD_DATA,
                     FailureKind.AUTH})
OPENS_AT_ONCE = frozenset({FailureKind.AUTH})
PREFIX = "providers:breaker"


@dataclass(frozen=True)
class Permit:
    """Leave to call the provider once; `trial` when it is the half-open trial whose outcome decides the state."""

    trial: bool = False


@dataclass(frozen=True)
class BreakerSnapshot:
    name: str
    state: str  # closed, open or half_open
    failures_in_window: int  # counted failures within the last W seconds since the breaker last closed
    opened_at: datetime | None  # when it last opened (None while closed)
    retry_at: datetime | None  # when it may be tried again (None while closed)
    last_error: str  # the provider's last error, "" when none
    last_error_at: datetime | None
    last_latency_ms: float | None  # of the last call, successful or not
    calls: int
    successes: int
    failures: int  # counted failures only (see COUNTED)

    @property
    def state_words(self) -> str:
        return STATE_WORDS[self.state]


class CircuitBreaker:
    """One provider's breaker. Call `acquire()` before calling the provider (None: skip it), then exactly one of
    `record_success` / `record_failure` with the permit it gave."""

    def __init__(self, name: str, *, failures: int | None = None, window_seconds: float | None = None,
                 cooldown_seconds: float | None = None, cache=None):
        self.name = name
        self.threshold = max(1, failures if failures is not None else settings.PROVIDER_BREAKER_FAILURES)
        self.window = window_seconds if window_seconds is not None else settings.PROVIDER_BREAKER_WINDOW_SECONDS
        self.cooldown = cooldown_seconds if cooldown_seconds is not None else settings.PROVIDER_BREAKER_COOLDOWN_SECONDS
        self.cache = cache if cache is not None else default_cache

    # --- calls ---------------------------------------------------------------------------------------
    def acquire(self) -> Permit | None:
        """A permit to call the provider now, or None while open (or half-open with a trial under way)."""
        state = self._state()
        if state["state"] == CLOSED:
            return Permit()
        if time.time() < state["retry_at"]:
            return None
        trial_hold = max(1, int(self.cooldown))  # a trial whose process died frees the slot after this
        return Permit(trial=True) if self.cache.add(self._key("trial"), uuid.uuid4().hex, trial_hold) else None

    def record_success(self, *, permit: Permit, latency_ms: float | None) -> None:
        """The provider answered. A half-open trial that answers closes the breaker."""
        self._count("calls", "successes")
        self.cache.set(self._key("last_latency"), latency_ms, None)
        if permit.trial:
            self._set_state(CLOSED, window_from=time.time())
            self.cache.delete(self._key("trial"))

    def record_failure(self, error: ProviderError, *, permit: Permit, latency_ms: float | None) -> None:
        """The provider failed with `error`; a counted failure may open the breaker (see the module's text)."""
        now = time.time()
        counted = error.kind in COUNTED
        self._count("calls", *(["failures"] if counted else []))
        self.cache.set_many({self._key("last_latency"): latency_ms,
                             self._key("last_error"): (str(error), error.kind.value, now)}, None)
        if not counted:  # the provider answered "no such symbol / no data": it is up
            if permit.trial:
                self._set_state(CLOSED, window_from=now)
                self.cache.delete(self._key("trial"))
            return
        slot = self._incr(self._key("seq"), None) % self.threshold
        self.cache.set(self._key(f"slot:{slot}"), now, None)
        state = self._state()
        if permit.trial:
            self._open(now, error, window_from=state["window_from"])
            self.cache.delete(self._key("trial"))
        elif state["state"] == CLOSED and (error.kind in OPENS_AT_ONCE or self._failures_in_window(now, state) >= self.threshold):
            self._open(now, error, window_from=state["window_from"])

    # --- reading -------------------------------------------------------------------------------------
    def snapshot(self) -> BreakerSnapshot:
        """Everything the page and the API show, read in one round trip."""
        names = ["state", "calls", "successes", "failures", "last_error", "last_latency",
                 *(f"slot:{i}" for i in range(self.threshold))]
        values = self.cache.get_many([self._key(n) for n in names])
        got = {n: values.get(self._key(n)) for n in names}
        now = time.time()
        state = got["state"] or self._closed()
        error = got["last_error"] or ("", None, None)
        slots = [got[f"slot:{i}"] for i in range(self.threshold)]
        is_open = state["state"] == OPEN
        return BreakerSnapshot(
            name=self.name,
            state=(HALF_OPEN if now >= state["retry_at"] else OPEN) if is_open else CLOSED,
            failures_in_window=self._within(slots, now, state),
            opened_at=_utc(state["opened_at"]) if is_open else None,
            retry_at=_utc(state["retry_at"]) if is_open else None,
            last_error=error[0], last_error_at=_utc(error[2]), last_latency_ms=got["last_latency"],
            calls=got["calls"] or 0, successes=got["successes"] or 0, failures=got["failures"] or 0,
        )

    def blocked_reason(self) -> str:
        """Why `acquire()` refused, in one clause for the "no provider available" message."""
        snap = self.snapshot()
        if snap.state == HALF_OPEN:
            return "circuit half-open, a trial call is under way"
        until = snap.retry_at.strftime("%H:%M:%S UTC") if snap.retry_at else "?"
        last = f" (last error: {snap.last_error.removeprefix(f'{self.name}: ')})" if snap.last_error else ""
        return f"circuit open until {until}{last}"

    def reset(self) -> None:
        """Forget this provider's state and counters (tests, or an operator after fixing a key)."""
        self.cache.delete_many([self._key(n) for n in ("state", "seq", "trial", "calls", "successes", "failures",
                                                        "last_error", "last_latency",
                                                        *(f"slot:{i}" for i in range(self.threshold)))])

    # --- internals -----------------------------------------------------------------------------------
    def _key(self, part: str) -> str:
        return f"{PREFIX}:{self.name}:{part}"

    def _closed(self, window_from: float = 0.0) -> dict:
        return {"state": CLOSED, "opened_at": None, "retry_at": 0.0, "window_from": window_from}

    def _state(self) -> dict:
        return self.cache.get(self._key("state")) or self._closed()

    def _set_state(self, state: str, *, window_from: float, opened_at: float | None = None, retry_at: float = 0.0):
        value = {"state": state, "opened_at": opened_at, "retry_at": retry_at, "window_from": window_from}
        self.cache.set(self._key("state"), value, None)

    def _open(self, now: float, error: ProviderError, *, window_from: float) -> None:
        cooldown = max(self.cooldown, error.retry_after or 0) if error.kind == FailureKind.RATE_LIMITED else self.cooldown
        self._set_state(OPEN, window_from=window_from, opened_at=now, retry_at=now + cooldown)

    def _failures_in_window(self, now: float, state: dict) -> int:
        slots = self.cache.get_many([self._key(f"slot:{i}") for i in range(self.threshold)])
        return self._within(list(slots.values()), now, state)

    def _within(self, slots: list, now: float, state: dict) -> int:
        since = max(now - self.window, state["window_from"])
        return sum(1 for at in slots if at is not None and since <= at <= now)

    def _count(self, *names: str) -> None:
        for name in names:
            self._incr(self._key(name), None)

    def _incr(self, key: str, timeout: float | None) -> int:
        """Atomic increment that creates the key: `add` wins for the first caller, `incr` for the rest."""
        if self.cache.add(key, 1, timeout):
            return 1
        try:
            return self.cache.incr(key)
        except ValueError:  # it expired between the two calls
            self.cache.add(key, 1, timeout)
            return 1


def _utc(epoch: float | None) -> datetime | None:
    return None if epoch is None else datetime.fromtimestamp(epoch, UTC)
