"""promote_intraday_candidate on a small real cohort: rows, checks, allocation, policies, idempotence, refusals."""
from __future__ import annotations

import json
import subprocess
import sys
import uuid
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone

from cohorts.models import Cohort
from neolight.errors import ApplicationError
from promotions.models import GuardCheck, PromotionCandidate, PromotionLog, PromotionPolicy
from promotions.services.candidates import candidate_best, promote_intraday_candidate
from tests.promotions.gate.conftest import run_cohort

ROOT = Path(__file__).resolve().parents[3]
CHECKS = ["allocation", *settings.PROMOTION_GUARDS]


@pytest.mark.django_db
def test_every_agent_becomes_a_ranked_candidate_with_every_check_stored(cohort):
    candidates = promote_intraday_candidate(cohort)
    agents = {a.pk: a for a in cohort.agents.all()}

    assert len(candidates) == len(agents) == 10
    assert [c.rank for c in candidates] == list(range(1, 11))
    scores = [(agents[c.agent_id].roi or 0) + (agents[c.agent_id].sharpe or 0) for c in candidates]
    assert scores == sorted(scores, reverse=True) and [c.score for c in candidates] == pytest.approx(scores)
    for candidate in candidates:
        checks = list(candidate.checks.all())
        assert sorted(c.name for c in checks) == sorted(CHECKS)
        assert candidate.is_eligible == all(c.passed for c in checks)
        assert candidate.family == agents[candidate.agent_id].family
        assert candidate.params == agents[candidate.agent_id].params
        assert candidate.guards == settings.PROMOTION_GUARDS and candidate.policy is None
        trades = next(c for c in checks if c.name == "min_trades")
        assert trades.value == agents[candidate.agent_id].trades and trades.threshold == 10
        walk = next(c for c in checks if c.name == "min_walk_forward")
        assert walk.value is None and not walk.passed and "not part of a campaign" in walk.detail
    assert candidate_best(cohort) is None  # outside a campaign nothing is proven out of sample
    log = PromotionLog.objects.get(kind="candidates", cohort=cohort)
    assert log.data["candidates"] == 10 and log.data["eligible"] == 0


@pytest.mark.django_db
def test_allocation_is_five_percent_of_the_cohorts_bankroll_in_cents(cohort):
    candidates = promote_intraday_candidate(cohort)

    assert {c.allocation for c in candidates} == {Decimal("50.00")}  # 5% of $1,000
    check = GuardCheck.objects.filter(candidate=candidates[0], name="allocation").get()
    assert check.passed and check.value == 50.0 and check.threshold == 50.0


@pytest.mark.django_db
def test_allocation_is_capped_at_the_micro_live_cap(cohort, settings):
    settings.PROMOTION_MICRO_LIVE_CAP = 30

    candidates = promote_intraday_candidate(cohort)

    assert {c.allocation for c in candidates} == {Decimal("30.00")}
    assert not any(c.is_eligible for c in candidates)  # below the $50 minimum: not eligible, and it says so
    assert not GuardCheck.objects.get(candidate=candidates[0], name="allocation").passed


@pytest.mark.django_db
def test_a_bankroll_that_cannot_fund_the_minimum_makes_no_candidate_eligible(cohort, settings):
    settings.PROMOTION_ALLOCATION_MIN = 2_000  # more than the $1,000 bankroll

    candidates = promote_intraday_candidate(cohort)
    check = GuardCheck.objects.get(candidate=candidates[0], name="allocation")

    assert {c.allocation for c in candidates} == {Decimal("50.00")}
    assert not check.passed and check.threshold == 2000.0 and "below the $2,000.00 minimum" in check.detail


@pytest.mark.django_db
def test_weighing_a_cohort_again_returns_its_rows_unchanged(cohort):
    first = promote_intraday_candidate(cohort)
    checks = GuardCheck.objects.count()
    again = promote_intraday_candidate(cohort, policy=PromotionPolicy.objects.create(name="lax", guards={"min_trades": 0}))

    assert [(c.pk, c.rank, c.is_eligible) for c in again] == [(c.pk, c.rank, c.is_eligible) for c in first]
    assert GuardCheck.objects.count() == checks and PromotionCandidate.objects.count() == 10
    assert PromotionLog.objects.filter(kind="candidates").count() == 1


@pytest.mark.django_db
def test_a_cohort_not_completed_is_refused_and_nothing_written(crypto_hours):
    pending = run_cohort(run=False)

    with pytest.raises(ApplicationError, match="Only a completed cohort"):
        promote_intraday_candidate(pending)
    Cohort.objects.filter(pk=pending.pk).update(status="running", lease_token=uuid.uuid4(),
                                                lease_expires_at=timezone.now() + timedelta(minutes=5))
    with pytest.raises(ApplicationError, match="is running"):
        promote_intraday_candidate(pending)
    assert not PromotionCandidate.objects.exists() and not PromotionLog.objects.exists()


@pytest.mark.django_db
def test_a_policys_guards_override_the_settings_key_by_key(cohort):
    policy = PromotionPolicy.objects.create(name="strict", guards={"min_trades": 500, "max_slippage_bps": 1.0})

    candidates = promote_intraday_candidate(cohort, policy=policy)
    checks = GuardCheck.objects.filter(candidate__cohort=cohort)

    assert candidates[0].policy == policy
    assert candidates[0].guards == {**settings.PROMOTION_GUARDS, "min_trades": 500, "max_slippage_bps": 1.0}
    assert {c.threshold for c in checks.filter(name="min_trades")} == {500.0}
    assert not checks.filter(name="min_trades", passed=True).exists()
    slippage = checks.filter(name="max_slippage_bps").first()
    assert slippage.value == 5.0 and slippage.threshold == 1.0 and not slippage.passed  # the cohort's 5 bps
    assert {c.threshold for c in checks.filter(name="min_confidence")} == {settings.PROMOTION_GUARDS["min_confidence"]}


@pytest.mark.django_db
def test_the_default_policy_applies_when_none_is_given(cohort):
    PromotionPolicy.objects.create(name="other", guards={"min_trades": 7})
    default = PromotionPolicy.objects.create(name="house", is_default=True, guards={"min_trades": 3})

    candidates = promote_intraday_candidate(cohort)

    assert candidates[0].policy == default and candidates[0].guards["min_trades"] == 3
    assert GuardCheck.objects.get(candidate=candidates[0], name="min_trades").threshold == 3.0


@pytest.mark.django_db
def test_a_policy_naming_an_unknown_guard_is_refused(cohort):
    with pytest.raises(ApplicationError, match="min_luck"):
        promote_intraday_candidate(cohort, policy=PromotionPolicy.objects.create(name="odd", guards={"min_luck": 1}))
    assert not PromotionCandidate.objects.exists()


def test_promotion_guards_in_the_environment_override_the_defaults_key_by_key():
    probe = "import json, neolight.settings as s; print(json.dumps(s.PROMOTION_GUARDS))"
    env = {"PATH": "/usr/bin:/bin", "PROMOTION_GUARDS": '{"min_trades": 25, "max_drawdown": 0.02}'}
    done = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, env=env)
    guards = json.loads(done.stdout.strip().splitlines()[-1])

    assert guards["min_trades"] == 25 and guards["max_drawdown"] == 0.02
    assert guards["min_confidence"] == settings.PROMOTION_GUARDS["min_confidence"]


@pytest.mark.django_db
def test_candidate_best_is_the_best_ranked_eligible_candidate(cohort, settings):
    settings.PROMOTION_GUARDS = {"min_trades": 1, "max_drawdown": 1.0, "min_liquidity_ratio": 0.0}

    candidates = promote_intraday_candidate(cohort)
    eligible = [c for c in candidates if c.is_eligible]

    assert eligible and len(eligible) < len(candidates)  # the agents that traded
    assert all(c.agent.trades >= 1 for c in eligible)
    assert candidate_best(cohort) == eligible[0] and eligible[0].rank == min(c.rank for c in eligible)
