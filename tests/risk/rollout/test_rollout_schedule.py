"""The rollout's schedule: it proposes one step up for a slice that ran its days without a breach, and it
applies an approved step that a crash left unapplied — into exactly one successor."""
from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from cohorts.models import CohortSettlement
from promotions.models import Deployment, DeploymentStatus, RequestStatus
from promotions.services.deployments import deployment_pause, deployment_resume
from promotions.services.requests import on_final_approval, promotion_sign
from risk.models import DecisionStatus, RolloutStep
from risk.services.rollout import rollout_propose_due, rollout_step_up_request
from tests.promotions.deployments.conftest import FUNDING, WorkerKilled
from tests.promotions.deployments.helpers import bankroll_cash
from tests.risk.rollout.conftest import FIRST

pytestmark = pytest.mark.usefixtures("crypto_hours", "at_start")


def test_a_crash_between_the_end_and_the_successor_resumes_into_exactly_one_successor(
        running, notices, kill, real_clock, ops_user, ops_signer, risk_user):
    deployment = running()
    with real_clock():
        request = rollout_step_up_request(deployment_id=deployment.pk, user=ops_user)
    promotion_sign(request_id=request.pk, user=ops_signer, note="the slice ran clean")
    promotion_sign(request_id=request.pk, user=risk_user, note="within the limits")
    step = RolloutStep.objects.get(request=request)

    kill("deployment.superseded")  # the worker dies after the old deployment ended, before its successor began
    with pytest.raises(WorkerKilled):
        on_final_approval(request.pk)
    deployment.refresh_from_db()  # one transaction: the end went with the successor that never began
    assert deployment.status == DeploymentStatus.RUNNING and not Deployment.objects.filter(predecessor=deployment)
    assert not CohortSettlement.objects.filter(cohort_id=deployment.run.cohort_id).exists()
    assert bankroll_cash(deployment) == FUNDING - FIRST
    step.refresh_from_db()
    assert step.status == DecisionStatus.AWAITING_APPROVAL and step.request.status == RequestStatus.APPROVED
    on_final_approval(request.pk)  # the hook has recorded the approval: a second call does nothing
    assert not Deployment.objects.filter(predecessor=deployment).exists()

    assert rollout_propose_due()["applied"] == [Deployment.objects.get(predecessor=deployment).pk]  # resumed
    assert rollout_propose_due()["applied"] == []
    successor = Deployment.objects.get(predecessor=deployment)
    assert successor.capital == 2 * FIRST and RolloutStep.objects.get(pk=step.pk).status == DecisionStatus.APPLIED
    assert CohortSettlement.objects.filter(cohort_id=deployment.run.cohort_id).count() == 1
    assert bankroll_cash(deployment) == FUNDING - 2 * FIRST  # the slice back once, the new one drawn once
    with pytest.raises(IntegrityError), transaction.atomic():  # the database allows one successor, whoever retries
        Deployment.objects.create(**{f.attname: getattr(successor, f.attname) for f in Deployment._meta.concrete_fields
                                     if f.attname != "id"})


def test_the_schedule_proposes_one_step_up_for_a_slice_that_ran_its_days_without_a_breach(
        running, notices, time_machine, ops_user, risk_user):  # (the chain's groups exist)
    quiet, breached = running(), running()
    deployment_pause(deployment_id=breached.pk, reason="reconciliation mismatch", user=None)
    deployment_resume(deployment_id=breached.pk, reason="books agree again", user=None)
    time_machine.shift(timedelta(hours=12))
    young = running()
    day_after = timezone.now() + timedelta(hours=12, minutes=1)

    proposed = rollout_propose_due(now=day_after)["proposed"]
    step = RolloutStep.objects.get(deployment=quiet, status=DecisionStatus.AWAITING_APPROVAL)
    assert proposed == [step.request_id]
    assert (step.from_capital, step.to_capital, step.actor, step.request.requested_by) == (FIRST, 2 * FIRST, None, None)
    assert not RolloutStep.objects.filter(deployment__in=[breached, young], status=DecisionStatus.AWAITING_APPROVAL)
    assert rollout_propose_due(now=day_after)["proposed"] == []  # never two open at once
