"""The gate on a real 2-day campaign: walk-forward over day 1, the genomes tried, paper days and runs."""
from __future__ import annotations

import numpy as np
import pytest

from cohorts.models import Agent
from knowledge.models import CampaignStatus
from promotions.models import GuardCheck, PromotionPolicy
from promotions.services.candidates import candidate_best, promote_intraday_candidate

LAX = {"min_trades": 0, "max_drawdown": 1.0, "min_confidence": 0.0, "min_deflated_sharpe": 0.0,
       "min_walk_forward": 1.0, "min_paper_days": 2, "min_sharpe": -1e9, "max_readiness_drawdown": 1.01,
       "min_win_rate": -1.0, "min_liquidity_ratio": 0.0}


def day_one_outcomes(campaign) -> dict[tuple, bool]:
    """Genome (family, params) → did day 1's agents running it score ROI + Sharpe above 0, from the rows."""
    scores: dict[tuple, list[float]] = {}
    for agent in campaign.campaign_days.get(number=1).cohort.agents.all():
        key = (agent.family, tuple(sorted(agent.params.items())))
        scores.setdefault(key, []).append(agent.roi + agent.sharpe)
    return {key: float(np.mean(values)) > 0 for key, values in scores.items()}


@pytest.mark.django_db
def test_day_two_candidates_carry_day_ones_out_of_sample_record(two_day_campaign):
    campaign = two_day_campaign
    assert campaign.status == CampaignStatus.COMPLETED
    day2 = campaign.campaign_days.get(number=2)
    cycle = campaign.cycles.get(day_number=1)
    tuned = {(f["tuned"]["family"], tuple(sorted({**f["tuned"]["params"], "side": f["tuned"]["side"]}.items()))):
             f["out_of_sample"] > 0 for f in cycle.families}
    day1 = campaign.campaign_days.get(number=1).cohort
    Agent.objects.filter(cohort=day1, index__in=range(1, 10, 2)).update(roi=0.01, sharpe=2.0)  # every other did well
    day_one = day_one_outcomes(campaign)

    candidates = promote_intraday_candidate(day2.cohort, policy=PromotionPolicy.objects.create(name="lax", guards=LAX))
    carried, positive = 0, 0
    for candidate in candidates:
        checks = {c.name: c for c in GuardCheck.objects.filter(candidate=candidate)}
        key = (candidate.family, tuple(sorted(candidate.params.items())))
        expected = day_one.get(key, tuned.get(key, False))
        carried += key in day_one
        positive += expected
        assert checks["min_walk_forward"].value == (1.0 if expected else 0.0)
        assert checks["min_paper_days"].value == 2.0
        assert checks["max_error_rate"].value == 0.0 and "(0 of 3)" in checks["max_error_rate"].detail  # 2 days, 1 cycle
        trials = 10 + sum(len(f["trials"]) for f in cycle.families if f["family"] == candidate.family)
        assert f"best of {trials} genomes tried" in checks["min_deflated_sharpe"].detail
        assert candidate.campaign_day == day2
    assert carried > 0 and positive > 0  # the cycle kept some of day 1's genomes, some of them positive

    best = candidate_best(day2.cohort)
    for candidate in candidates:  # every other bar lowered: eligible exactly when day 1 was positive out of sample
        failed = {c.name for c in candidate.checks.all() if not c.passed}
        assert failed <= {"min_walk_forward"}
        assert candidate.is_eligible == (not failed)
    eligible = [c for c in candidates if c.is_eligible]
    assert best == (min(eligible, key=lambda c: c.rank) if eligible else None)
