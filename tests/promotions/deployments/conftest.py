"""Fixtures of the deployment tests: two bundled hours of BTC-USDT and ETH-USDT bars, approvers, approved
promotion requests written directly (the approval chain has its own tests), and a worker that dies on cue."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group
from django.utils import timezone

from cohorts.models import Agent, CohortStatus
from cohorts.services.ledger import bankroll_ensure
from neolight import faults
from promotions.models import PromotionCandidate, PromotionRequest, RequestStatus
from tests.cohorts.conftest import HOURS, HOURS_SYMBOLS, crypto_hours  # noqa: F401
from tests.factories import CohortFactory, UserFactory

START = datetime(2021, 5, 6, tzinfo=UTC)  # the first bar of `crypto_hours`
FUNDING = Decimal(100_000)
# a genome that trades about ten times in the first hour of these bars
GENOME = {"family": "vwap_scalper", "params": {"n": 30, "band_bps": 10.0, "side": "long"}}


@pytest.fixture(autouse=True)
def quick_passwords(settings):
    """Test users' passwords hash fast: these tests are about deployments, not logins."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def at_start(time_machine):
    """The wall clock at the bundled bars' first minute (and ticking), as when they were live."""
    time_machine.move_to(START, tick=True)


@pytest.fixture
def desk(db):
    return bankroll_ensure(name="desk", funding=FUNDING)


@pytest.fixture
def ops_user(db):
    user = UserFactory(username="opsie")
    user.groups.add(Group.objects.get_or_create(name="ops")[0])
    return user


@pytest.fixture
def risk_user(db):
    user = UserFactory(username="risky")
    user.groups.add(Group.objects.get_or_create(name="risk")[0])
    return user


@pytest.fixture
def approved(desk):
    """Makes an approved promotion request of GENOME on BTC-USDT and ETH-USDT (payload keys as the chain signs)."""

    def make(*, capital: str = "500", hours: int = 1, max_drawdown: float = 0.05, max_return_variance: float = 0.01,
             status: str = RequestStatus.APPROVED, **payload) -> PromotionRequest:
        cohort = CohortFactory(source=desk, status=CohortStatus.COMPLETED, symbols=HOURS_SYMBOLS)
        agent = Agent.objects.create(cohort=cohort, index=0, family=GENOME["family"], params=GENOME["params"],
                                     capital=Decimal(1000))
        candidate = PromotionCandidate.objects.create(
            cohort=cohort, agent=agent, rank=1, score=1.0, family=GENOME["family"], params=GENOME["params"],
            allocation=Decimal(capital), is_eligible=True)
        body = {"candidate": candidate.pk, "cohort": cohort.pk, "agent": 0, **GENOME, "allocation": capital,
                "symbols": HOURS_SYMBOLS, "trading_mode": "PAPER", "bankroll": desk.pk,
                "limits": {"max_drawdown": max_drawdown, "max_return_variance": max_return_variance, "hours": hours}}
        body.update(payload)
        now = timezone.now()
        return PromotionRequest.objects.create(candidate=candidate, status=status, payload=body,
                                               payload_digest="0" * 64, roles=["ops", "risk"], decided_at=now,
                                               expires_at=now + timedelta(days=1))

    return make


@pytest.fixture
def queued(monkeypatch):
    """Tasks queued after commit are noted here instead of run (the test runs the deployment itself)."""
    calls: list[tuple] = []
    for module in ("promotions.services.deployments", "promotions.services.deploy_reconcile"):
        monkeypatch.setattr(f"{module}.enqueue", lambda task, *args: calls.append((task, *args)))
    return calls


class WorkerKilled(BaseException):
    """The worker process dies here: no `except Exception` of the run sees it, as with SIGKILL."""


@pytest.fixture
def kill(monkeypatch):
    """kill(point, hit): the worker dies the `hit`-th time it reaches fault point `point`, once."""

    def arm(point: str, hit: int = 1) -> None:
        real, seen = faults.point, {"n": 0}

        def maybe_die(name: str) -> None:
            if name == point:
                seen["n"] += 1
                if seen["n"] == hit:
                    monkeypatch.setattr(faults, "point", real)
                    raise WorkerKilled(f"killed at {point} (#{hit})")
            real(name)

        monkeypatch.setattr(faults, "point", maybe_die)

    return arm
