"""The guardian on running deployments and live cohorts, stepped on the replay clock over a quarter of an hour of
bars: a pre-trade refusal pauses a deployment and never reaches the paper broker; the kill switch pauses a running
deployment and ends a running live cohort's run at its next bar, settled once; breakers grade a live cohort (reduce-
only recorded, halted ends the run); a TEST deployment sends nothing and its books still reconcile."""
from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from cohorts import engine
from cohorts.models import AllocationPolicy, CohortCheckpoint, CohortMode, CohortSettlement, CohortStatus
from cohorts.selectors.ledger import ledger_unbalanced_transactions
from cohorts.selectors.ledger_check import ledger_check
from cohorts.services.clocks import ReplayClock
from cohorts.services.cohorts import cohort_launch
from cohorts.services.inputs import LaunchInput
from cohorts.services.live import cohort_run_live
from neolight import faults
from promotions.models import Deployment, DeploymentStatus, LogKind, PaperOrder
from promotions.services.deploy_reconcile import deployment_reconcile
from promotions.services.deployments import deployment_start
from risk.models import Alert, Breaker, BreakerRule, KillSwitchEvent, LeverageLadder, TradingState
from risk.services.guardian import kill_switch_engage, kill_switch_release
from tests.promotions.deployments.helpers import ledger_fills
from tests.risk.guardian.conftest import QUICK, START

pytestmark = pytest.mark.usefixtures("quarter_hour", "at_start", "eager")


@pytest.fixture
def at_bar(monkeypatch):
    """at_bar(n, action): runs `action()` once, after the n-th bar of a run has committed."""

    def arm(n: int, action) -> None:
        real, seen = faults.point, {"bars": 0}

        def point(name: str) -> None:
            if name == "live.after_bar":
                seen["bars"] += 1
                if seen["bars"] == n:
                    action()
            real(name)

        monkeypatch.setattr(faults, "point", point)

    return arm


def run(approved, capture, **payload):
    request = approved(capital="500", **QUICK, **payload)
    with capture(execute=True):
        deployment = deployment_start(request_id=request.pk, clock="replay")
    deployment.refresh_from_db()
    return deployment


def live_cohort(bankroll):
    """A live-paper cohort of one QUICK agent over the quarter hour (a system launch, as a deployment's)."""
    genome = engine.Genome(QUICK["family"], {k: v for k, v in QUICK["params"].items() if k != "side"}, "long")
    return cohort_launch(data=LaunchInput(bankroll=Decimal(1000), agents=1, policy=AllocationPolicy.EQUAL,
                                          symbols=("BTC-USDT", "ETH-USDT"), start=START, end=START + timedelta(minutes=15),
                                          mode=CohortMode.LIVE), source=bankroll, genomes=[genome], weights=[1.0],
                         weights_note="one agent", run=False)


def paper_orders(deployment) -> int:
    return PaperOrder.objects.filter(account__name=f"deployment-{deployment.pk}").count()


def test_an_order_the_pre_trade_check_refuses_never_reaches_the_broker_and_pauses_the_deployment(
        approved, django_capture_on_commit_callbacks):
    ladder = LeverageLadder.objects.create(name="house", is_default=True, start=Decimal("0.1"), floor=Decimal("0.1"))
    assert ladder.start == Decimal("0.1")  # every deployment starts at a 0.1× tier: the first buy is too big
    deployment = run(approved, django_capture_on_commit_callbacks)

    refused = deployment.orders.get()
    assert (refused.status, refused.fill_number, refused.filled_qty) == ("refused", 0, 0)
    assert "above the 0.10× tier" in refused.error
    assert paper_orders(deployment) == 0  # nothing reached the paper broker, flattening included
    paused = deployment.log.get(kind=LogKind.PAUSED)
    assert "books would no longer agree" in paused.message and paused.data["refused"] == refused.error
    assert deployment.status == DeploymentStatus.ROLLED_BACK  # the run's end found it paused


def test_the_kill_switch_pauses_a_running_deployment_and_ends_a_running_live_cohort_at_its_next_bar(
        approved, django_capture_on_commit_callbacks, operator, at_bar, desk):
    sent_before = {}

    def engage():
        sent_before["orders"] = PaperOrder.objects.count()
        kill_switch_engage(user=operator, reason="exchange halted")

    at_bar(12, engage)  # its genome bought at bar 11 and sells from bar 13 on
    deployment = run(approved, django_capture_on_commit_callbacks)
    assert sent_before["orders"] == 2  # it had traded before the switch
    pause = deployment.log.get(kind=LogKind.PAUSED)
    assert pause.message == "Paused: Kill switch: exchange halted" and pause.data["kill_switch"] is True
    assert deployment.orders.filter(fill_number__isnull=False).count() == 2  # no fill was sent after it
    assert len(ledger_fills(deployment)) > 2  # though the model went on trading
    assert deployment.status == DeploymentStatus.ROLLED_BACK  # the timer ran out while paused: flattened, returned
    assert not deployment.orders.filter(fill_number__isnull=True).exclude(side="sell").exists()
    assert KillSwitchEvent.objects.get().data["paused_deployments"] == [deployment.pk]

    cohort = live_cohort(desk)
    kill_switch_release(user=operator, reason="exchange back")
    at_bar(3, lambda: kill_switch_engage(user=operator, reason="exchange halted again"))
    cohort = cohort_run_live(cohort_id=cohort.pk, clock=ReplayClock(0))
    assert cohort.status == CohortStatus.COMPLETED, cohort.status_reason
    assert cohort.status_reason == "Ended early: Kill switch: exchange halted again"
    assert CohortCheckpoint.objects.get(cohort=cohort).bar == 4  # the bar after the switch, not the window's 15
    assert CohortSettlement.objects.filter(cohort=cohort).count() == 1
    assert KillSwitchEvent.objects.filter(engaged=True).latest("id").data["halted_cohorts"] == [cohort.pk]
    assert ledger_check(cohort=cohort).is_sound


def test_a_test_deployment_sends_nothing_records_test_orders_and_its_books_reconcile(
        approved, django_capture_on_commit_callbacks, at_bar):
    outcome = {}
    at_bar(12, lambda: outcome.setdefault("reconcile", deployment_reconcile(deployment_id=Deployment.objects.get().pk)))

    deployment = run(approved, django_capture_on_commit_callbacks, trading_mode="TEST")
    assert outcome["reconcile"] == "reconciled"
    statuses = set(deployment.orders.values_list("status", flat=True))
    assert statuses == {"test"} and deployment.orders.count() >= 2
    assert paper_orders(deployment) == 0
    messages = deployment.log.filter(kind=LogKind.ORDER).values_list("message", flat=True)
    assert all(m.startswith(("TEST BUY", "TEST SELL")) and m.endswith(": test") for m in messages)
    assert deployment.status == DeploymentStatus.COMPLETED
    assert ledger_unbalanced_transactions() == [] and ledger_check(cohort=deployment.run.cohort).is_sound


def test_breakers_grade_a_running_live_cohort_reducing_is_recorded_once_halted_ends_the_run(desk, settings):
    settings.RISK_DAILY_LOSS_LIMIT, settings.RISK_CAPITAL_STOP = 0.0001, 0.0004  # tight, so this quarter hour breaks them
    cohort = cohort_run_live(cohort_id=live_cohort(desk).pk, clock=ReplayClock(0))

    daily, stop = (Breaker.objects.get(cohort=cohort, rule=rule) for rule in (BreakerRule.DAILY_LOSS,
                                                                              BreakerRule.CAPITAL_STOP))
    assert (daily.state, stop.state) == (TradingState.REDUCING, TradingState.HALTED)
    assert daily.opened_at < stop.opened_at  # reduce-only is recorded and the cohort trades on
    for breaker in (daily, stop):  # one event and one alert per breach, however many bars saw it
        assert breaker.events.count() == 1
        assert Alert.objects.filter(kind="breaker_opened", key=f"breaker:{breaker.pk}").count() == 1
    assert cohort.status == CohortStatus.COMPLETED
    assert cohort.status_reason.startswith("Ended early: the day's loss is") and "hard capital stop" in cohort.status_reason
    bars = CohortCheckpoint.objects.get(cohort=cohort).bar
    assert bars < 15 and stop.opened_at == START + timedelta(minutes=bars)  # it ended at the halting bar
    assert CohortSettlement.objects.filter(cohort=cohort).count() == 1
    assert ledger_check(cohort=cohort).is_sound
