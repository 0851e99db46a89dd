"""Fixtures of the rollout tests: the deployment tests' bars, bankroll, approvers and approved requests, with the
rollout on (a first slice of 25 %, steps of 25 %), a second member of ops to sign what the first asks for, and
the approvers' notices noted instead of sent."""
from __future__ import annotations

import contextlib
from collections.abc import Iterator
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.utils import timezone

from promotions.models import DEPLOYMENT_STATES, Deployment, DeploymentStatus
from promotions.services.deployments import deployment_start
from tests.factories import UserFactory
from tests.promotions.deployments.conftest import (  # noqa: F401 (fixtures)
    approved,
    at_start,
    crypto_hours,
    desk,
    kill,
    ops_user,
    queued,
    quick_passwords,
    risk_user,
)

ALLOCATION = Decimal(500)
FIRST = Decimal(125)  # 25 % of the allocation


@pytest.fixture
def real_clock(time_machine):
    """A context in which the wall clock is the database's: the bars' clock is moved back to 2021, but on
    PostgreSQL a request's expiry is weighed against the real time, so a request to be signed is opened in it."""

    @contextlib.contextmanager
    def within() -> Iterator[None]:
        with connection.cursor() as cursor:
            cursor.execute("SELECT CURRENT_TIMESTAMP" if connection.vendor == "postgresql" else "SELECT NULL")
            real = cursor.fetchone()[0]
        if real is None:
            yield
            return
        back = timezone.now()
        time_machine.move_to(real, tick=True)
        try:
            yield
        finally:
            time_machine.move_to(back, tick=True)

    return within


@pytest.fixture(autouse=True)
def rollout_on(settings):
    settings.RISK_ROLLOUT_FIRST_FRACTION = 0.25
    settings.RISK_ROLLOUT_STEP_FRACTION = 0.25
    settings.RISK_ROLLOUT_MAX = 1.0
    settings.RISK_ROLLOUT_DAYS = 1.0


@pytest.fixture
def ops_signer(db):
    """A second member of ops: the first asks for the step, so may not sign it."""
    user = UserFactory(username="opsie-two")
    user.groups.add(Group.objects.get_or_create(name="ops")[0])
    return user


@pytest.fixture
def notices(monkeypatch):
    """The approvers' e-mails queued after a request or a signature, noted instead of sent."""
    calls: list[tuple] = []
    monkeypatch.setattr("promotions.services.requests.enqueue", lambda task, *args: calls.append((task, *args)))
    return calls


@pytest.fixture
def running(approved, queued):  # noqa: F811 (the imported fixtures)
    """A deployment of the approved 500 that has started (its first slice drawn) and is running, before its first
    bar: what a step finds between two bars."""

    def make(**kwargs) -> Deployment:
        deployment = deployment_start(request_id=approved(capital=str(ALLOCATION), **kwargs).pk, clock="replay")
        return DEPLOYMENT_STATES.move(deployment.pk, DeploymentStatus.RUNNING)

    return make
