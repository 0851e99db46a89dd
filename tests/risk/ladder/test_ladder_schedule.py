"""The schedule evaluates what is due, once, within its budget; bankroll days; the risk page hears every decision;
a tier above the ladder's cap raises a leverage-breach alert and is read back within the cap."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.utils import timezone

from cohorts.models import CohortSettlement, CohortStatus
from neolight.realtime import RISK
from promotions.services.requests import promotion_sign
from risk.models import Alert, AlertKind, DecisionStatus, LeverageDecision
from risk.selectors.leverage import current_tier
from risk.services.leverage import leverage_evaluate, leverage_evaluate_due
from risk.tasks.leverage import leverage_evaluate_due_task
from tests.factories import CohortFactory
from tests.risk.ladder.conftest import equity_path, set_equity


def test_the_schedule_evaluates_each_due_subject_once(ladder, completed_cohort, campaign_days, deployment_of,
                                                      time_machine):
    cohort = completed_cohort([0.01, 0.012, 0.011])
    campaign = campaign_days([0.01, 0.012])
    deployment = deployment_of("PAPER")
    done = leverage_evaluate_due_task.apply().get()
    assert (len(done["cohort"]), len(done["campaign"]), len(done["deployment"]), done["bankroll"]) == (1, 2, 1, [])
    assert LeverageDecision.objects.get(cohort=cohort).rule == "step_up"
    assert list(LeverageDecision.objects.filter(campaign=campaign).order_by("id").values_list("inputs__day", flat=True)) \
        == [1, 2]
    assert leverage_evaluate_due() == {"bankroll": [], "cohort": [], "campaign": [], "deployment": []}

    time_machine.move_to(timezone.now() + timedelta(minutes=61))
    campaign_days.add(campaign, [0.011])
    again = leverage_evaluate_due()
    assert (len(again["campaign"]), len(again["deployment"]), again["cohort"]) == (1, 1, [])
    assert LeverageDecision.objects.filter(deployment=deployment).count() == 2


def test_the_schedule_keeps_to_its_budget(ladder, campaign_days):
    campaign = campaign_days([0.01, 0.012, 0.011])
    assert len(leverage_evaluate_due(limit=2)["campaign"]) == 2
    assert len(leverage_evaluate_due(limit=2)["campaign"]) == 1
    assert [d.to_tier for d in LeverageDecision.objects.filter(campaign=campaign).order_by("id")] == [2, 2, 3]


def test_a_bankroll_is_evaluated_once_per_whole_day_of_settlements(ladder, desk, time_machine):
    day_one = datetime(2026, 3, 2, 18, tzinfo=UTC)
    for offset, gain in enumerate(["10", "12", "11", "50"]):
        time_machine.move_to(day_one + timedelta(days=offset), tick=False)
        for _ in range(2):  # two cohorts a day: the day's return is their total gain over their total draw
            cohort = CohortFactory(source=desk, status=CohortStatus.COMPLETED)
            CohortSettlement.objects.create(cohort=cohort, kind="return", drawn=Decimal(500),
                                            settled=Decimal(500) + Decimal(gain) / 2)
    decisions = [leverage_evaluate(bankroll=desk) for _ in range(4)]
    assert [d.inputs["day"] for d in decisions] == ["2026-03-02", "2026-03-03", "2026-03-04", "2026-03-04"]
    assert [(d.rule, d.to_tier) for d in decisions[:3]] == [
        ("hold_insufficient_data", 2), ("hold_insufficient_data", 2), ("step_up", 3)]
    assert decisions[3].pk == decisions[2].pk  # the last day, still under way, waits until it is whole
    assert decisions[2].inputs["periods_per_year"] == 365.0


def test_every_decision_reaches_the_risk_page(ladder, completed_cohort, django_capture_on_commit_callbacks):
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(RISK, channel)
    cohort = completed_cohort([0.01, 0.012, 0.011])
    with django_capture_on_commit_callbacks(execute=True):
        decision = leverage_evaluate(cohort=cohort)
    message = async_to_sync(layer.receive)(channel)
    assert message == {"type": "live.event", "event": "leverage", "payload": {
        "decision": decision.pk, "subject_kind": "cohort", "subject": cohort.pk, "status": "applied",
        "from_tier": "2.00", "to_tier": "3.00"}}
    async_to_sync(layer.group_discard)(RISK, channel)


def test_a_tier_approved_above_a_lowered_cap_alerts_and_is_read_within_it(ladder, deployment_of, signers,
                                                                          django_capture_on_commit_callbacks):
    deployment = deployment_of("LIVE")
    for equity in equity_path([0.010, 0.012, 0.011]):
        set_equity(deployment, equity)
        up = leverage_evaluate(deployment=deployment)
    ladder.cap = Decimal(2)  # lowered while the step up to 3× waits for its signatures
    ladder.save()
    assert not Alert.objects.exists()
    promotion_sign(request_id=up.request_id, user=signers["ops"], note="ok")
    with django_capture_on_commit_callbacks(execute=True):
        promotion_sign(request_id=up.request_id, user=signers["risk"], note="ok")
    alert = Alert.objects.get(kind=AlertKind.LEVERAGE_BREACH)
    assert alert.key == f"leverage:deployment:{deployment.pk}" and alert.trading_mode == "LIVE"
    assert alert.message == f"Deployment {deployment.pk} is at 3×, above the ladder test's cap 2×"
    assert current_tier(deployment=deployment) == Decimal(3)
    back = leverage_evaluate(deployment=deployment)
    assert (back.from_tier, back.to_tier, back.status) == (3, 2, DecisionStatus.APPLIED)
    assert back.rationale.startswith("Tier 3× is outside the ladder's 1×–2×, read as 2×.")
