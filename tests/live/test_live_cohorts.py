"""Live-paper cohorts stepped bar by bar on the accelerated replay clock end exactly where a replay of the
same window ends: the same fills, equity, reconciliation and capital back in the bankroll."""
from __future__ import annotations

from decimal import Decimal

import pytest
from django.conf import settings

from cohorts.models import CohortCheckpoint, CohortMode, CohortSettlement, CohortStatus, SettlementKind
from cohorts.selectors.ledger import account_balance
from cohorts.selectors.ledger_check import ledger_check
from cohorts.services.clocks import ReplayClock
from cohorts.services.cohorts import cohort_run, house_bankroll
from cohorts.services.inputs import cohort_input
from cohorts.services.ledger import bankroll_cash_account
from cohorts.services.live import CHECKPOINT_EVERY_BARS, cohort_run_live
from neolight import faults
from neolight.errors import ApplicationError
from tests.live.helpers import HOURS_INPUT, comparable, equity_of, fills_of, launch

FUNDING = Decimal(settings.HOUSE_BANKROLL_FUNDING)


def house_cash() -> Decimal:
    return account_balance(bankroll_cash_account(house_bankroll()))


@pytest.fixture
def replayed(crypto_hours):
    cohort = cohort_run(cohort_id=launch(CohortMode.REPLAY).pk)
    assert cohort.status == CohortStatus.COMPLETED
    return cohort


def test_a_live_cohort_on_the_replay_clock_ends_exactly_as_the_replay(replayed):
    slept = []
    live = launch(CohortMode.LIVE)
    seen = []
    live = cohort_run_live(cohort_id=live.pk, clock=ReplayClock(6000, sleep=slept.append), progress=seen.append)

    assert live.status == CohortStatus.COMPLETED, live.status_reason
    assert live.mode == CohortMode.LIVE and live.progress == 100
    assert len(slept) == 119 and set(slept) == {0.01}  # 120 bars, a minute apart at 6000 minutes a second
    assert seen == sorted(seen) and seen[-1] == 99
    replay_fills = fills_of(replayed)
    assert len(replay_fills) > 20
    assert comparable(fills_of(live), live) == comparable(replay_fills, replayed)
    assert equity_of(live) == equity_of(replayed)
    assert live.summary == replayed.summary
    assert live.is_reconciled and live.is_ledger_balanced
    checkpoint = CohortCheckpoint.objects.get(cohort=live)
    assert checkpoint.bar == 120 and checkpoint.fills < len(replay_fills)  # the close-out is posted at the end
    settlement = CohortSettlement.objects.get(cohort=live)
    assert settlement.kind == SettlementKind.RETURN and settlement.settled == replayed.settlement.settled
    assert house_cash() == FUNDING - Decimal(10000) * 2 + settlement.settled * 2
    report = ledger_check()
    assert report.is_sound, report.problems


def test_fills_are_in_the_ledger_as_each_bar_commits(crypto_hours):
    live = launch(CohortMode.LIVE)
    counts, saved = [], []

    def after_bar():
        checkpoint = CohortCheckpoint.objects.get(cohort=live)
        counts.append((checkpoint.bar, checkpoint.fills, live.fills.count(),
                       live.transactions.filter(kind="fill").count()))
        saved.append(checkpoint.data_bar)

    original = faults.point
    try:
        faults.point = lambda name: after_bar() if name == "live.after_bar" else original(name)
        cohort_run_live(cohort_id=live.pk, clock=ReplayClock(0))
    finally:
        faults.point = original
    assert [bar for bar, *_ in counts] == list(range(1, 121))
    assert all(fills == rows == posted for _, fills, rows, posted in counts)
    assert counts[-1][1] > counts[0][1]  # fills arrived during the window, not all at its end
    # the engine's state is saved with the first bar, then every CHECKPOINT_EVERY_BARS bars once the bar's
    # figures are out, so the next bar's commit finds it
    every = CHECKPOINT_EVERY_BARS
    assert saved == [1] + [1 + (bar - 2) // every * every for bar in range(2, 121)]


def test_a_replay_cohort_is_not_run_live_nor_a_live_one_replayed(crypto_hours):
    replay, live = launch(CohortMode.REPLAY), launch(CohortMode.LIVE)
    assert cohort_run_live(cohort_id=replay.pk, clock=ReplayClock(0)).status == CohortStatus.PENDING
    assert cohort_run(cohort_id=live.pk).status == CohortStatus.PENDING


def test_a_live_run_that_fails_midway_settles_its_capital_once(crypto_hours):
    live = launch(CohortMode.LIVE)
    calls = []

    def fail_at_bar_40(name):
        if name == "live.after_bar":
            calls.append(name)
            if len(calls) == 40:
                raise faults.FaultInjected("fault injected at live.after_bar")

    original = faults.point
    try:
        faults.point = fail_at_bar_40
        live = cohort_run_live(cohort_id=live.pk, clock=ReplayClock(0))
    finally:
        faults.point = original
    assert live.status == CohortStatus.FAILED and "fault injected" in live.status_reason
    settlement = CohortSettlement.objects.get(cohort=live)
    # its fills stay in the ledger; its positions were closed and what the agents held went back
    assert live.fills.exists()
    assert house_cash() == FUNDING - Decimal(10000) + settlement.settled
    report = ledger_check()
    assert report.is_sound, report.problems


def test_mode_is_validated_with_the_other_fields(crypto_hours):
    with pytest.raises(ApplicationError) as refused:
        cohort_input(**{**HOURS_INPUT, "agents": 0}, mode="streaming")
    assert set(refused.value.errors) >= {"agents", "mode"}
    assert cohort_input(**HOURS_INPUT).mode == CohortMode.REPLAY


def test_every_bar_of_a_live_run_announces_its_equity_roi_and_leaders(crypto_hours, monkeypatch):
    from cohorts.services import live as live_service

    announced = []
    real = live_service._announce
    monkeypatch.setattr(live_service, "_announce",
                        lambda cohort, event, **payload: (announced.append((event, payload)), real(cohort, event, **payload)))
    live = cohort_run_live(cohort_id=launch(CohortMode.LIVE).pk, clock=ReplayClock(0))

    bars = [p for event, p in announced if event == "cohort.progress" and "equity" in p]
    assert live.status == CohortStatus.COMPLETED and len(bars) == live.checkpoint.bar
    assert Decimal(bars[0]["equity"]) == live.wallet.bankroll and bars[0]["roi"] == 0  # orders fill at the next open
    assert all(Decimal(b["equity"]).as_tuple().exponent == -2 for b in bars)  # whole cents, as text
    assert all(1 <= len(b["leaders"]) <= 3 and b["leaders"][0]["roi"] >= b["leaders"][-1]["roi"] for b in bars)
    assert abs(Decimal(bars[-1]["equity"]) - live.final_equity) < live.wallet.bankroll / 1000  # but the close-out
