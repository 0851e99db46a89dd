"""Scripted return paths, stored as a campaign's days and a cohort's curve, replayed through the service: each
evaluation persists one decision and the tiers follow the documented ladder, cap and step-downs included."""
from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from neolight.errors import ApplicationError
from risk.models import DecisionStatus, LeverageDecision
from risk.selectors.leverage import current_tier
from risk.services.leverage import leverage_evaluate

# Daily returns and, for each day, the rule the ladder (3-observation window, cap 5×) fires and the tier after it.
PATH = [
    (0.010, "hold_insufficient_data", 2), (0.012, "hold_insufficient_data", 2),
    (0.011, "step_up", 3), (0.010, "step_up", 4), (0.013, "step_up", 5),
    (0.011, "hold_cap", 5),  # at the cap
    (-0.005, "hold_cap", 5),  # one loss, the window's Sharpe still high
    (-0.005, "hold", 5),  # Sharpe 0.69 ≤ 1.5
    (-0.005, "step_down_losses", 4),  # three losses in a row
    (-0.06, "step_down_drawdown", 3),  # 6.9% below the window's peak
    (0.001, "step_down_drawdown", 2), (0.001, "step_down_drawdown", 1),  # still ≥ 5% below it
    (0.001, "hold", 1),  # flat window: Sharpe 0
    (-0.06, "step_down_drawdown", 1),  # already at the floor
]


def tiers(**subject) -> list[tuple[str, Decimal, Decimal]]:
    (kind, value), = subject.items()
    return list(LeverageDecision.objects.filter(**{kind: value}).order_by("created_at", "id")
                .values_list("rule", "from_tier", "to_tier"))


def test_campaign_days_replay_the_documented_tier_sequence(ladder, campaign_days):
    campaign = campaign_days([r for r, _, _ in PATH])
    for _ in PATH:
        leverage_evaluate(campaign=campaign)
    expected, before = [], Decimal(2)
    for _, rule, after in PATH:
        expected.append((rule, before, Decimal(after)))
        before = Decimal(after)
    assert tiers(campaign=campaign) == expected
    assert current_tier(campaign=campaign) == Decimal(1)
    last = LeverageDecision.objects.filter(campaign=campaign).first()
    assert last.inputs["day"] == len(PATH) and last.inputs["periods_per_year"] == 365.0
    assert last.rationale == "Drawdown 6.0% ≥ 5.0% (already at the floor): 1× → 1×"


def test_a_campaign_day_is_evaluated_once(ladder, campaign_days):
    campaign = campaign_days([0.01, 0.012, 0.011])
    decisions = [leverage_evaluate(campaign=campaign.pk).pk for _ in range(5)]
    assert len(set(decisions)) == 3 and decisions[2:] == [decisions[2]] * 3
    campaign_days.add(campaign, [0.01])
    fourth = leverage_evaluate(campaign=campaign)
    assert (fourth.inputs["day"], fourth.from_tier, fourth.to_tier) == (4, Decimal(3), Decimal(4))


def test_a_campaign_without_a_completed_day_is_refused(ladder, campaign_days):
    with pytest.raises(ApplicationError) as refused:
        leverage_evaluate(campaign=campaign_days([]))
    assert refused.value.field == "campaign"


def test_a_completed_cohort_reads_its_hourly_parent_curve_once(ladder, completed_cohort):
    cohort = completed_cohort([0.010, 0.012, 0.011])
    decision = leverage_evaluate(cohort=cohort)
    assert (decision.rule, decision.from_tier, decision.to_tier, decision.status) == (
        "step_up", Decimal(2), Decimal(3), DecisionStatus.APPLIED)
    assert decision.inputs["observations"] == 3 and decision.inputs["periods_per_year"] == 8760.0
    assert decision.inputs["max_drawdown"] == 0.0 and decision.inputs["rolling_sharpe"] > 1.5
    assert decision.rationale.startswith("Rolling Sharpe") and decision.rationale.endswith("2× → 3×")
    assert leverage_evaluate(cohort=cohort.pk).pk == decision.pk
    assert LeverageDecision.objects.filter(cohort=cohort).count() == 1


def test_a_cohort_losing_from_its_first_hour_steps_down(ladder, completed_cohort):
    decision = leverage_evaluate(cohort=completed_cohort([-0.06]))
    assert (decision.rule, decision.to_tier) == ("step_down_drawdown", Decimal(1))


def test_exactly_one_subject(ladder, completed_cohort, campaign_days):
    with pytest.raises(ApplicationError) as two:
        leverage_evaluate(cohort=completed_cohort([0.01]), campaign=campaign_days([0.01]))
    with pytest.raises(ApplicationError) as none:
        leverage_evaluate()
    with pytest.raises(ApplicationError) as missing:
        leverage_evaluate(cohort=999_999)
    assert (two.value.field, none.value.field, missing.value.field) == ("subject", "subject", "cohort")


def test_a_ladder_is_kept_the_first_time_one_is_needed(db, completed_cohort):
    decision = leverage_evaluate(cohort=completed_cohort([0.01]))
    assert decision.ladder.is_default and decision.ladder.pk is not None
    assert (decision.rule, decision.to_tier) == ("hold_insufficient_data", Decimal(2))  # the 20-observation window


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.sampled_from([-0.07, -0.02, -0.004, 0.0, 0.004, 0.01, 0.011, 0.012, 0.03]), min_size=1, max_size=12))
def test_tiers_never_pass_the_cap_nor_skip_a_step(ladder, campaign_days, returns):
    campaign = campaign_days(returns)
    for _ in returns:
        leverage_evaluate(campaign=campaign)
    path = tiers(campaign=campaign)
    assert len(path) == len(returns)
    previous = Decimal(2)
    for _, before, after in path:
        assert before == previous and Decimal(1) <= after <= Decimal(5) and abs(after - before) <= 1
        previous = after
