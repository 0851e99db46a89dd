"""Circuit breakers read scripted bars: each opens once per breach (one event, one alert), grades the subject's
state, recovers when its rule allows (the next day, the cool-down on the wall clock, a person's reset) and acts on a
deployment: halted pauses it, a recovery resumes only what the guardian paused."""
from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest

from cohorts import engine
from cohorts.engine.codes import CLOSE, OPEN
from cohorts.models import CohortMode
from cohorts.providers.base import FailureKind, ProviderError
from cohorts.providers.breaker import CircuitBreaker, Permit
from neolight.errors import ApplicationError
from promotions.models import DEPLOYMENT_STATES, DeploymentOrder, DeploymentStatus, LogKind
from promotions.services.deployments import deployment_pause, deployment_start
from risk.models import Alert, AlertStatus, Breaker, BreakerEvent, BreakerRule, TradingState
from risk.selectors.guardian import trading_state
from risk.services.guardian import (
    GuardianForbidden,
    Reading,
    SubjectGuard,
    breaker_reset,
    deployment_guard_effects,
    kill_switch_engage,
    kill_switch_release,
)
from risk.tasks.guardian import breakers_recover_task
from tests.factories import CohortFactory
from tests.risk.guardian.conftest import START

MINUTE = timedelta(minutes=1)


def minute(n: int):
    return START + n * MINUTE


def closes(*pnls: float) -> engine.Fills:
    """Fills closing round trips with these realised P&Ls (each after an opening fill)."""
    n = 2 * len(pnls)
    kind = np.array([OPEN, CLOSE] * len(pnls))
    pnl = np.zeros(n)
    pnl[1::2] = pnls
    ones = np.ones(n)
    return engine.Fills(agent=np.zeros(n, np.int64), bar=np.zeros(n, np.int64), symbol=np.zeros(n, np.int64),
                        side=np.where(kind == OPEN, 1, -1), kind=kind, qty=ones, price=ones, fee=0 * ones, pnl=pnl)


def events(rule: str) -> list[tuple[str, str]]:
    return list(BreakerEvent.objects.filter(breaker__rule=rule).order_by("id").values_list("from_state", "to_state"))


def alerts() -> list[tuple[str, str]]:
    return list(Alert.objects.filter(kind="breaker_opened").order_by("id").values_list("key", "status"))


@pytest.fixture
def cohort(db):
    return CohortFactory(mode=CohortMode.LIVE)


@pytest.fixture
def guard(cohort):
    return SubjectGuard(cohort=cohort, start_equity=10_000)


def test_the_daily_loss_limit_reduces_once_per_breach_and_recovers_the_next_utc_day(guard, cohort):
    assert guard.bar(Reading(minute(1), 10_000)).state == TradingState.ACTIVE
    assert guard.bar(Reading(minute(2), 9_750)).state == TradingState.ACTIVE  # 2.5 %: under the 3 % limit
    for n, equity in ((3, 9_690), (4, 9_600), (5, 9_650)):  # 3.1 %, 4 %, 3.5 %: one breach, seen on three bars
        verdict = guard.bar(Reading(minute(n), equity))
        assert verdict.state == TradingState.REDUCING and "daily limit" in verdict.reason
    assert events(BreakerRule.DAILY_LOSS) == [("active", "reducing")]
    assert alerts() == [(f"breaker:{Breaker.objects.get(rule=BreakerRule.DAILY_LOSS).pk}", AlertStatus.OPEN)]
    assert trading_state(cohort=cohort) == TradingState.REDUCING

    next_day = START + timedelta(days=1)
    assert guard.bar(Reading(next_day + MINUTE, 9_650)).state == TradingState.ACTIVE  # the day opens at 9,650
    assert events(BreakerRule.DAILY_LOSS) == [("active", "reducing"), ("reducing", "active")]
    assert [status for _, status in alerts()] == [AlertStatus.RESOLVED]
    guard.bar(Reading(next_day + 2 * MINUTE, 9_300))  # 3.6 % of 9,650: a new breach, a new alert
    assert [status for _, status in alerts()] == [AlertStatus.RESOLVED, AlertStatus.OPEN]


def test_the_hard_capital_stop_halts_until_a_permitted_person_resets_it(guard, cohort, outsider, ops_user):
    guard.bar(Reading(minute(1), 10_000))
    verdict = guard.bar(Reading(minute(2), 9_480))  # 5.2 %: both loss rules open; halted is the more severe
    assert verdict.state == TradingState.HALTED and "hard capital stop" in verdict.reason
    assert len(alerts()) == 2
    stop = Breaker.objects.get(rule=BreakerRule.CAPITAL_STOP)
    assert stop.recovers_at is None
    assert guard.bar(Reading(START + timedelta(days=1, minutes=1), 9_480)).state == TradingState.HALTED  # no new day
    assert breakers_recover_task() == []  # nor the beat

    with pytest.raises(GuardianForbidden):
        breaker_reset(breaker_id=stop.pk, user=outsider, reason="let me trade")
    with pytest.raises(ApplicationError, match="reason"):
        breaker_reset(breaker_id=stop.pk, user=ops_user, reason="")
    breaker_reset(breaker_id=stop.pk, user=ops_user, reason="loss understood: a bad print")
    last = BreakerEvent.objects.filter(breaker=stop).latest("id")
    assert (last.to_state, last.actor, last.reason) == ("active", ops_user, "Reset by opsie: loss understood: a bad print")
    assert trading_state(cohort=cohort) == TradingState.ACTIVE
    # measured from the reset on: the same equity does not open it again
    assert guard.bar(Reading(START + timedelta(days=1, minutes=2), 9_480)).state == TradingState.ACTIVE
    with pytest.raises(ApplicationError, match="active already"):
        breaker_reset(breaker_id=stop.pk, user=ops_user, reason="again")


def test_consecutive_losing_round_trips_reduce_and_recover_after_the_cool_down(guard, cohort, time_machine):
    time_machine.move_to(START + 5 * MINUTE, tick=False)
    fills = closes(-5, -1, -2, 7, -1, -1, -1, -1, -1)  # a win breaks the first streak at three
    guard.bar(Reading(minute(1), 10_000, fills.part(0, 8), first=0))
    assert trading_state(cohort=cohort) == TradingState.ACTIVE
    assert guard.bar(Reading(minute(2), 10_000, fills.part(8, 14), first=8)).state == TradingState.ACTIVE  # 3 so far
    verdict = guard.bar(Reading(minute(3), 10_000, fills.part(14, 18), first=14))  # the fourth and fifth
    assert verdict.state == TradingState.REDUCING and "5 losing round trips" in verdict.reason
    guard.bar(Reading(minute(4), 10_000, fills.part(14, 18), first=14))  # the same fills again: not counted twice
    breaker = Breaker.objects.get(rule=BreakerRule.CONSECUTIVE_LOSSES)
    assert breaker.recovers_at == minute(3) + timedelta(minutes=30) and breaker.data["streak"] == 5
    assert len(alerts()) == 1

    time_machine.move_to(minute(3) + timedelta(minutes=29), tick=False)
    assert breakers_recover_task() == []
    time_machine.move_to(minute(3) + timedelta(minutes=30), tick=False)
    assert breakers_recover_task() == [breaker.pk]
    assert trading_state(cohort=cohort) == TradingState.ACTIVE
    assert events(BreakerRule.CONSECUTIVE_LOSSES) == [("active", "reducing"), ("reducing", "active")]
    breaker.refresh_from_db()
    assert breaker.data["streak"] == 0  # it counts afresh


@pytest.fixture
def running(approved, quarter_hour, at_start):
    def make():
        deployment = deployment_start(request_id=approved().pk, run=False)
        return DEPLOYMENT_STATES.move(deployment.pk, DeploymentStatus.RUNNING)

    return make


def provider_failures(n: int) -> None:
    breaker = CircuitBreaker("finnhub")
    for _ in range(n):
        breaker.record_failure(ProviderError("finnhub", FailureKind.UNAVAILABLE, "502"), permit=Permit(), latency_ms=3)


def test_broker_and_provider_errors_halt_a_deployment_which_the_guardian_resumes_after_the_cool_down(
        running, settings, time_machine, ops_user):
    settings.MARKET_DATA_PROVIDERS = ["finnhub"]
    ours, theirs = running(), running()
    guards = {d.pk: SubjectGuard(deployment=d, start_equity=500) for d in (ours, theirs)}
    for deployment in (ours, theirs):
        guards[deployment.pk].bar(Reading(minute(1), 500))  # the error window starts here
    provider_failures(2)
    for deployment in (ours, theirs):
        for n in range(3):
            DeploymentOrder.objects.create(deployment=deployment, fill_number=n, client_order_id=f"x{deployment.pk}-{n}",
                                           mode="PAPER", symbol="BTC-USDT", side="buy", qty=1, status="rejected",
                                           error="422: size too small")
    DeploymentOrder.objects.create(deployment=ours, fill_number=9, client_order_id="ok", mode="PAPER",
                                   symbol="BTC-USDT", side="buy", qty=1, status="filled", filled_qty=1)
    deployment_pause(deployment_id=theirs.pk, reason="investigating the broker", user=ops_user)  # a person's pause
    for deployment in (ours, theirs):  # 5 errors (3 broker, 2 provider) over the 20-attempt window: 25 % > 20 %
        verdict = guards[deployment.pk].bar(Reading(minute(2), 500))
        assert verdict.state == TradingState.HALTED and "5 broker or provider errors in 20 attempts" in verdict.reason
        deployment_guard_effects(deployment, verdict)
    ours.refresh_from_db()
    theirs.refresh_from_db()
    assert ours.status == theirs.status == DeploymentStatus.PAUSED
    assert ours.status_reason.startswith("Guardian: 5 broker or provider errors")
    assert theirs.status_reason == "investigating the broker"

    time_machine.move_to(START + timedelta(minutes=40))
    recovered = breakers_recover_task()
    assert len(recovered) == 2
    ours.refresh_from_db()
    theirs.refresh_from_db()
    assert ours.status == DeploymentStatus.RUNNING  # the guardian paused it: the guardian resumes it
    assert ours.log.filter(kind=LogKind.RESUMED).get().message == "Resumed: Guardian: its breakers recovered"
    assert theirs.status == DeploymentStatus.PAUSED  # a person paused it: it waits for a person
    # the window counts afresh from the recovery: the old errors do not halt it again
    assert guards[ours.pk].bar(Reading(minute(41), 500)).state == TradingState.ACTIVE


def test_the_kill_switch_halts_every_subject_until_released_and_needs_its_permission(cohort, operator, outsider):
    other = CohortFactory(mode=CohortMode.LIVE)
    with pytest.raises(GuardianForbidden):
        kill_switch_engage(user=outsider, reason="oops")
    kill_switch_engage(user=operator, reason="exchange outage")
    assert trading_state(cohort=cohort) == trading_state(cohort=other) == TradingState.HALTED
    verdict = SubjectGuard(cohort=cohort, start_equity=10_000).bar(Reading(minute(1), 10_000))
    assert (verdict.state, verdict.reason) == (TradingState.HALTED, "Kill switch: exchange outage")
    assert Alert.objects.get(kind="kill_switch").status == AlertStatus.OPEN
    kill_switch_release(user=operator, reason="outage over")
    assert trading_state(cohort=cohort) == TradingState.ACTIVE
    assert Alert.objects.get(kind="kill_switch").status == AlertStatus.RESOLVED
