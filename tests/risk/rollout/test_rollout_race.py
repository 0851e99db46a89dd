"""A rollback and an approved capital step reaching one deployment at the same moment: both wait on its
cohort's row, the first acts, the second finds it ended and does nothing — one outcome, one settlement."""
from __future__ import annotations

import threading
import time

import pytest
from django.db import connection, transaction

from cohorts.models import Cohort, CohortSettlement
from cohorts.selectors.ledger import ledger_unbalanced_transactions
from neolight.errors import ApplicationError
from promotions.models import Deployment, DeploymentStatus, LogKind
from promotions.services.deployments import deployment_rollback
from promotions.services.requests import promotion_sign
from risk.models import DecisionStatus, RolloutStep
from risk.services.rollout import rollout_apply, rollout_step_up_request
from tests.promotions.deployments.conftest import FUNDING
from tests.promotions.deployments.helpers import bankroll_cash
from tests.risk.rollout.conftest import FIRST

pytestmark = [
    pytest.mark.skipif("connection.vendor != 'postgresql'", reason="row locks need PostgreSQL"),
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("crypto_hours", "at_start"),
]


def waiting_on_locks() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                       "AND wait_event_type = 'Lock'")
        return cursor.fetchone()[0]


def race(deployment: Deployment, step: RolloutStep, *, first: str, user) -> dict[str, object]:
    """A rollback and the step's apply, each in a thread, queued on the deployment's cohort row in the order
    `first` says (the row is held until both wait); what each returned or raised."""
    outcomes: dict[str, object] = {}

    def act(name: str) -> None:
        try:
            if name == "rollback":
                outcomes[name] = deployment_rollback(deployment_id=deployment.pk, reason="breach seen", user=user)
            else:
                outcomes[name] = rollout_apply(step_id=step.pk)
        except ApplicationError as refusal:
            outcomes[name] = refusal
        finally:
            connection.close()

    order = [first, "step" if first == "rollback" else "rollback"]
    threads = [threading.Thread(target=act, args=(name,)) for name in order]
    with transaction.atomic():
        Cohort.objects.select_for_update().get(pk=deployment.run.cohort_id)
        for waiting, thread in enumerate(threads, start=1):
            thread.start()
            deadline = time.monotonic() + 10
            while waiting_on_locks() < waiting and time.monotonic() < deadline:
                time.sleep(0.02)
            assert waiting_on_locks() >= waiting
    for thread in threads:
        thread.join(timeout=30)
    return outcomes


def test_a_rollback_and_an_approved_step_at_once_act_exactly_once_whichever_comes_first(
        running, notices, real_clock, monkeypatch, ops_user, ops_signer, risk_user):
    monkeypatch.setattr("promotions.services.requests.on_final_approval", lambda request_id: None)  # applied below
    for first in ("rollback", "step"):
        deployment = running()
        with real_clock():
            request = rollout_step_up_request(deployment_id=deployment.pk, user=ops_user)
        promotion_sign(request_id=request.pk, user=ops_signer, note="the slice ran clean")
        promotion_sign(request_id=request.pk, user=risk_user, note="within the limits")
        step = RolloutStep.objects.get(request=request)
        drawn_before = FUNDING - bankroll_cash(deployment)  # what the deployments before this one hold

        outcomes = race(deployment, step, first=first, user=risk_user)

        deployment.refresh_from_db()
        step.refresh_from_db()
        successor = Deployment.objects.filter(predecessor=deployment).first()
        if first == "rollback":
            assert isinstance(outcomes["rollback"], Deployment) and isinstance(outcomes["step"], ApplicationError)
            assert deployment.status == DeploymentStatus.ROLLED_BACK and successor is None
            assert step.status == DecisionStatus.REFUSED and "had ended" in step.rationale
            assert bankroll_cash(deployment) == FUNDING - drawn_before + FIRST  # the slice back, once
        else:
            assert outcomes["step"] == successor and outcomes["rollback"] is None
            assert deployment.status == DeploymentStatus.SUPERSEDED and step.status == DecisionStatus.APPLIED
            assert bankroll_cash(deployment) == FUNDING - drawn_before + FIRST - 2 * FIRST
        assert deployment.log.filter(kind__in=[LogKind.ROLLED_BACK, LogKind.RESIZED]).count() == 1
        assert CohortSettlement.objects.filter(cohort_id=deployment.run.cohort_id).count() == 1
    assert ledger_unbalanced_transactions() == []
