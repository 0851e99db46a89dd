"""Fixtures of the leverage ladder's service tests: scripted return paths stored as the data the ladder reads.

A campaign's path is its days' cohorts (final equity over the day's bankroll); a deployment's is its live
cohort's running equity, set before each evaluation; a cohort's is a stored equity curve. A small ladder (a
three-observation window, cap 5×) keeps the paths short; the thresholds are the documented defaults."""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import numpy as np
import pytest
from django.contrib.auth.models import Group
from django.utils import timezone

from cohorts import curves
from cohorts.models import Agent, CohortCheckpoint, CohortMode, CohortResult, CohortStatus
from cohorts.services.ledger import bankroll_ensure
from knowledge.models import CampaignDay
from promotions.models import Deployment, DeploymentRun, PromotionCandidate, PromotionRequest, RequestStatus
from risk.models import LeverageLadder
from tests.factories import CampaignFactory, CohortFactory, UserFactory

START = datetime(2021, 5, 6, tzinfo=UTC)


@pytest.fixture(autouse=True)
def quick_passwords(settings):
    """Test users' passwords hash fast: these tests are about the ladder, not logins."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def ladder(db):
    """The default ladder: start 2×, ±1×, floor 1×, cap 5×, Sharpe > 1.5 and drawdown < 3% over 3 observations,
    down at a 5% drawdown or 3 losses in a row."""
    return LeverageLadder.objects.create(name="test", is_default=True, start=2, step_up=1, step_down=1, floor=1, cap=5,
                                         window=3)


@pytest.fixture
def desk(db):
    return bankroll_ensure(name="desk", funding=Decimal(100_000))


def equity_path(returns, start: float = 1000.0) -> list[Decimal]:
    """The equity each return compounds to, in cents."""
    return [Decimal(str(round(v, 2))) for v in start * np.cumprod(1.0 + np.asarray(returns, dtype=float))]


@pytest.fixture
def campaign_days(desk):
    """campaign_days(returns) -> a campaign whose day N's cohort completed with the N-th return (day cohorts
    each start from 1,000); add(campaign, returns) appends days."""

    def add(campaign, returns):
        first = campaign.campaign_days.count() + 1
        for number, r in enumerate(returns, start=first):
            cohort = CohortFactory(source=desk, status=CohortStatus.COMPLETED, symbols=["BTC-USDT"],
                                   final_equity=Decimal("1000") * (1 + Decimal(str(r))), day_number=number,
                                   window_start=START + timedelta(days=number - 1))
            CampaignDay.objects.create(campaign=campaign, number=number, date=date(2021, 5, 5) + timedelta(days=number),
                                       cohort=cohort)
        return campaign

    def make(returns=()):
        return add(CampaignFactory(days=30, created_by=None), returns)

    make.add = add
    return make


@pytest.fixture
def completed_cohort(desk):
    """completed_cohort(hourly_returns) -> a completed cohort whose stored parent curve moves by those returns,
    one per clock hour (four bars an hour)."""

    def make(returns):
        cohort = CohortFactory(source=desk, status=CohortStatus.COMPLETED, symbols=["BTC-USDT"])
        hourly = np.array([float(v) for v in equity_path(returns)])
        parent = np.repeat(hourly, 4)
        stamps = int(START.timestamp()) + 900 * np.arange(parent.size)
        CohortResult.objects.create(cohort=cohort, equity_curves=curves.pack(
            timestamps=stamps, parent=parent, agents=np.zeros((0, parent.size)), exposure=np.zeros((0, parent.size))))
        return cohort

    return make


@pytest.fixture
def groups(db):
    return {name: Group.objects.get_or_create(name=name)[0] for name in ("ops", "risk")}


@pytest.fixture
def signers(groups):
    ops, risk = UserFactory(username="opsie"), UserFactory(username="risky")
    ops.groups.add(groups["ops"])
    risk.groups.add(groups["risk"])
    return {"ops": ops, "risk": risk}


@pytest.fixture
def deployment_of(desk, groups):
    """deployment_of(mode) -> a running deployment of `mode` (PAPER, LIVE, TEST) on an approved request, with a
    live run whose one agent holds 1,000; `set_equity(deployment, value)` moves its running equity."""

    def make(mode: str = "PAPER") -> Deployment:
        source = CohortFactory(source=desk, status=CohortStatus.COMPLETED, symbols=["BTC-USDT"])
        agent = Agent.objects.create(cohort=source, index=0, family="vwap_scalper", params={"n": 30}, capital=1000)
        candidate = PromotionCandidate.objects.create(cohort=source, agent=agent, rank=1, score=1.0, family="vwap_scalper",
                                                      params={"n": 30}, allocation=Decimal(1000), is_eligible=True)
        now = timezone.now()
        request = PromotionRequest.objects.create(
            candidate=candidate, status=RequestStatus.APPROVED, roles=["ops", "risk"], payload_digest="0" * 64,
            payload={"candidate": candidate.pk, "family": "vwap_scalper", "allocation": "1000", "trading_mode": mode},
            decided_at=now, expires_at=now + timedelta(days=1))
        deployment = Deployment.objects.create(
            request=request, status="running", trading_mode=mode, bankroll=desk, family="vwap_scalper",
            params={"n": 30}, symbols=["BTC-USDT"], capital=Decimal(1000), max_drawdown=0.05,
            max_return_variance=0.01, started_at=now, ends_at=now + timedelta(hours=24))
        live = CohortFactory(source=desk, status=CohortStatus.RUNNING, mode=CohortMode.LIVE, symbols=["BTC-USDT"],
                             window_end=START + timedelta(hours=48))
        Agent.objects.create(cohort=live, index=0, family="vwap_scalper", params={"n": 30}, capital=1000,
                             final_equity=1000)
        CohortCheckpoint.objects.create(cohort=live, bar=1, fills=0, data_bar=0, data=b"")
        DeploymentRun.objects.create(deployment=deployment, cohort=live)
        return deployment

    return make


def set_equity(deployment: Deployment, value) -> None:
    """The live run's agent now holds `value` (its running score, as a bar writes it)."""
    Agent.objects.filter(cohort=deployment.run.cohort_id).update(final_equity=Decimal(str(value)))
