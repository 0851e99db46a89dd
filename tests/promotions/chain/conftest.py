"""Fixtures of the approval-chain tests: a real completed cohort, candidates on it, and the personas.

Personas: `requester` (an ops member who requested), `ops` and `ops2` (other ops members), `risk`, `outsider`
(no group) and `superuser` (staff with every right, in no group). The groups `ops` and `risk` are made here."""
from __future__ import annotations

from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import call_command

from tests.conftest import sample_slice

PERSONAS = ("requester", "ops", "ops2", "risk", "outsider", "superuser")


def cohort_completed(tmp_path):
    """A 10-agent cohort run to completion over the first hour of BTC-USDT, through the real services."""
    from cohorts.services.cohorts import cohort_launch, cohort_run
    from cohorts.services.inputs import cohort_input
    from cohorts.services.market import bars_import_files

    bars_import_files(paths=[sample_slice(tmp_path, "BTC-USDT", 60)])
    data = cohort_input(bankroll="1000", agents=10, symbols="BTC-USDT",
                        start="2021-05-06T00:00:00Z", end="2021-05-06T01:00:00Z")
    cohort = cohort_run(cohort_id=cohort_launch(data=data, run=False).pk)
    assert cohort.status == "completed", cohort.status_reason
    return cohort


@pytest.fixture(scope="module")
def cohort(django_db_setup, django_db_blocker, tmp_path_factory):
    """One completed cohort shared by a module's tests (each test's writes roll back around it); the
    database is emptied after the module, as a transactional test's end does."""
    with django_db_blocker.unblock():
        yield cohort_completed(tmp_path_factory.mktemp("bars"))
        call_command("flush", interactive=False, verbosity=0)


@pytest.fixture
def fresh_cohort(transactional_db, tmp_path):
    """A completed cohort of a transactional test's own (the test's threads commit)."""
    return cohort_completed(tmp_path)


@pytest.fixture
def groups(db):
    return {name: Group.objects.get_or_create(name=name)[0] for name in ("ops", "risk")}


def member(username: str, *groups: Group, **extra):
    """A user of `groups` without a usable password (tests sign them in directly; hashing one costs ~0.3 s)."""
    user = get_user_model()(username=username, email=f"{username}@example.com", **extra)
    user.set_unusable_password()
    user.save()
    user.groups.add(*groups)
    return user


@pytest.fixture
def people(groups):
    """Every persona by name."""
    return {
        "requester": member("requester", groups["ops"]),
        "ops": member("ops", groups["ops"]),
        "ops2": member("ops2", groups["ops"]),
        "risk": member("risk", groups["risk"]),
        "outsider": member("outsider"),
        "superuser": member("superuser", is_staff=True, is_superuser=True),
    }


def candidate_maker(cohort):
    """Makes the candidate row of one of `cohort`'s agents with its guard-rail checks (`failing` names the
    checks that fail; any failing check makes it ineligible)."""
    from promotions.models import CheckKind, GuardCheck, PromotionCandidate

    def make(index: int = 0, *, failing: tuple[str, ...] = (), allocation: str = "50.00") -> PromotionCandidate:
        agent = cohort.agents.get(index=index)
        candidate = PromotionCandidate.objects.create(
            cohort=cohort, agent=agent, guards={"min_trades": 10, "max_drawdown": 0.05}, rank=index + 1,
            score=(agent.roi or 0.0) + (agent.sharpe or 0.0), family=agent.family, params=agent.params,
            allocation=Decimal(allocation), is_eligible=not failing)
        for name, value, threshold, comparison in [("min_trades", 12.0, 10.0, ">="), ("max_drawdown", 0.01, 0.05, "<="),
                                                   ("min_deflated_sharpe", 0.97, 0.95, ">=")]:
            passed = name not in failing
            GuardCheck.objects.create(candidate=candidate, kind=CheckKind.GUARD, name=name,
                                      value=value if passed else None, threshold=threshold, comparison=comparison,
                                      passed=passed, detail="" if passed else "too few to tell")
        return candidate

    return make


@pytest.fixture
def make_candidate(cohort, db):
    """Candidates on the module's shared cohort."""
    return candidate_maker(cohort)


@pytest.fixture
def make_fresh_candidate(fresh_cohort):
    """Candidates on a transactional test's own cohort."""
    return candidate_maker(fresh_cohort)


@pytest.fixture
def candidate(make_candidate):
    return make_candidate(0)


@pytest.fixture
def request_of(people, candidate):
    """Opens a request for `candidate` as the requester."""
    from promotions.services.requests import promotion_request_create

    def make(cand=None):
        return promotion_request_create(candidate=cand or candidate, user=people["requester"])

    return make


@pytest.fixture
def requester(people):
    return people["requester"]


@pytest.fixture
def ops(people):
    return people["ops"]


@pytest.fixture
def ops2(people):
    return people["ops2"]


@pytest.fixture
def risk(people):
    return people["risk"]


@pytest.fixture
def outsider(people):
    """Overrides the suite's `outsider`: in no group, like every persona here made without a password hash."""
    return people["outsider"]


@pytest.fixture
def superuser(people):
    """Overrides the suite's `superuser`: staff with every right, in no group."""
    return people["superuser"]


@pytest.fixture(autouse=True)
def deployment_runs_wait_for_a_worker(monkeypatch):
    """The last approval starts a deployment and queues its run for a worker; none takes it here (the deployment
    tests run them), so it waits in the queue as it would for a worker that is away."""
    from neolight.celery import app

    monkeypatch.setitem(app.conf, "task_always_eager", False)
