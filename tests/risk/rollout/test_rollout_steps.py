"""Gradual rollout: the first slice is drawn, a step up waits for ops then risk and is applied as a successor
deployment (the old capital settled once, the new drawn once), a step down applies at once, and a step above the
ceiling is refused with nothing written."""
from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from cohorts.models import CohortSettlement
from cohorts.selectors.ledger import ledger_total, ledger_unbalanced_transactions
from cohorts.services.clocks import ReplayClock
from neolight.errors import ApplicationError
from promotions.models import DEPLOYMENT_STATES, Deployment, DeploymentStatus, LogKind, PromotionRequest, RequestStatus
from promotions.permissions import PromotionForbidden
from promotions.services.deploy_run import deployment_run
from promotions.services.deployments import OverrideRefused, deployment_pause, deployment_start
from promotions.services.requests import promotion_expire_due, promotion_reject, promotion_sign
from risk.models import DecisionStatus, RolloutStep
from risk.selectors.rollout import rollout_steps
from risk.services.rollout import rollout_apply, rollout_step_down, rollout_step_up_request
from tests.promotions.deployments.conftest import FUNDING, WorkerKilled
from tests.promotions.deployments.helpers import bankroll_cash, broker_cash, fill_orders
from tests.risk.rollout.conftest import ALLOCATION, FIRST

pytestmark = pytest.mark.usefixtures("crypto_hours", "at_start")


def test_a_new_deployment_draws_only_its_first_slice(approved, queued, settings):
    deployment = deployment_start(request_id=approved(capital=str(ALLOCATION)).pk, clock="replay")
    assert deployment.capital == FIRST
    assert bankroll_cash(deployment) == FUNDING - FIRST  # the ledger drew the slice, not the allocation
    step = RolloutStep.objects.get(deployment=deployment)
    assert (step.from_capital, step.to_capital, step.status) == (0, FIRST, DecisionStatus.APPLIED)
    assert step.rationale.startswith("first slice")

    settings.RISK_ROLLOUT_FIRST_FRACTION = 1.0  # the default: no rollout, the whole allocation at once
    whole = deployment_start(request_id=approved(capital=str(ALLOCATION)).pk, clock="replay")
    assert whole.capital == ALLOCATION and not RolloutStep.objects.filter(deployment=whole).exists()


def test_a_step_up_waits_for_ops_then_risk_then_moves_to_a_successor_settling_once(
        approved, queued, notices, kill, real_clock, ops_user, ops_signer, risk_user,
        django_capture_on_commit_callbacks):
    first = deployment_start(request_id=approved(capital=str(ALLOCATION)).pk, clock="replay")
    kill("live.after_bar", 45)  # its worker is between two bars, holding positions at the broker
    with pytest.raises(WorkerKilled):
        deployment_run(deployment_id=first.pk, clock=ReplayClock(0))
    assert fill_orders(first)

    with real_clock():
        request = rollout_step_up_request(deployment_id=first.pk, user=ops_user)
    assert request.payload["resizes"] == {"deployment": first.pk, "to": "250.00",
                                          "step": RolloutStep.objects.get(request=request).pk}
    assert request.roles == ["ops", "risk"] and request.status == RequestStatus.PENDING
    with pytest.raises(ApplicationError, match="awaiting approval|open request"):  # never two at once
        rollout_step_up_request(deployment_id=first.pk, user=ops_signer)

    promotion_sign(request_id=request.pk, user=ops_signer, note="the first slice ran clean")
    first.refresh_from_db()
    assert first.status == DeploymentStatus.RUNNING and not Deployment.objects.filter(predecessor=first).exists()
    with django_capture_on_commit_callbacks(execute=True):
        promotion_sign(request_id=request.pk, user=risk_user, note="within the limits")

    first.refresh_from_db()
    successor = Deployment.objects.get(predecessor=first)
    assert first.status == DeploymentStatus.SUPERSEDED
    assert (successor.capital, successor.request_id, successor.ends_at) == (Decimal(250), first.request_id,
                                                                            first.ends_at)
    assert (successor.family, successor.params, successor.symbols) == (first.family, first.params, first.symbols)
    assert RolloutStep.objects.get(request=request).status == DecisionStatus.APPLIED
    assert first.log.filter(kind=LogKind.RESIZED).count() == 1
    assert CohortSettlement.objects.filter(cohort_id=first.run.cohort_id).count() == 1
    assert ("promotions.tasks.deployment_run_task", successor.pk, "wall") in queued
    returned = broker_cash(first)  # flattened: what the first slice's orders left at the broker
    assert bankroll_cash(first) == FUNDING - FIRST + returned - Decimal(250)
    assert rollout_apply(step_id=RolloutStep.objects.get(request=request).pk) == successor  # applied once
    assert [(s.from_capital, s.to_capital, s.status) for s in rollout_steps(successor)] == [
        (FIRST, 250, DecisionStatus.APPLIED), (0, FIRST, DecisionStatus.APPLIED)]  # the lineage's steps

    deployment_run(deployment_id=successor.pk, clock=ReplayClock(0))
    successor.refresh_from_db()
    assert successor.status == DeploymentStatus.COMPLETED, successor.status_reason
    assert bankroll_cash(first) == FUNDING - FIRST + returned - Decimal(250) + broker_cash(successor)
    assert ledger_unbalanced_transactions() == [] and ledger_total() == 0


def test_a_step_down_applies_at_once_for_ops_risk_or_the_system_and_refuses_others(
        running, outsider, risk_user, ops_user):
    deployment = running()
    with pytest.raises(OverrideRefused):
        rollout_step_down(deployment_id=deployment.pk, to_capital="50", user=outsider, reason="nervous")
    with pytest.raises(ApplicationError, match="goes below"):
        rollout_step_down(deployment_id=deployment.pk, to_capital="125", user=risk_user, reason="same")
    assert RolloutStep.objects.filter(deployment=deployment).count() == 1  # the first slice only
    request = rollout_step_up_request(deployment_id=deployment.pk, user=ops_user)

    successor = rollout_step_down(deployment_id=deployment.pk, to_capital="50", user=risk_user, reason="wide spreads")
    deployment.refresh_from_db()
    assert deployment.status == DeploymentStatus.SUPERSEDED and successor.predecessor == deployment
    assert successor.capital == Decimal(50) and successor.status == DeploymentStatus.PENDING
    assert bankroll_cash(deployment) == FUNDING - Decimal(50)  # the slice came back whole, 50 went out again
    down = RolloutStep.objects.get(deployment=deployment, to_capital=50)
    assert (down.status, down.actor, down.from_capital) == (DecisionStatus.APPLIED, risk_user, FIRST)
    assert RolloutStep.objects.get(request=request).status == DecisionStatus.REFUSED  # the step up it overtook
    request.refresh_from_db()
    assert request.status == RequestStatus.CANCELLED and "stepped down first" in request.status_reason

    DEPLOYMENT_STATES.move(successor.pk, DeploymentStatus.RUNNING)  # as its run does
    paused = deployment_pause(deployment_id=successor.pk, reason="guardian", user=None)
    third = rollout_step_down(deployment_id=paused.pk, to_capital="20.50", reason="daily loss limit")  # the system
    assert third.status == DeploymentStatus.PAUSED and third.status_reason == "guardian"  # the pause holds
    assert third.capital == Decimal("20.50")
    assert bankroll_cash(deployment) == FUNDING - Decimal("20.50")


def test_a_step_up_above_the_ceiling_or_of_a_deployment_not_running_is_refused_with_nothing_written(
        running, ops_user, outsider, settings):
    deployment = running()
    before = (RolloutStep.objects.count(), PromotionRequest.objects.count(), bankroll_cash(deployment))
    with pytest.raises(ApplicationError, match=r"above the rollout's ceiling of \$500\.00") as refused:
        rollout_step_up_request(deployment_id=deployment.pk, user=ops_user, to_capital="600")
    assert refused.value.field == "to_capital"
    settings.PROMOTION_MICRO_LIVE_CAP = 300  # the ceiling never passes the micro-live cap
    with pytest.raises(ApplicationError, match=r"ceiling of \$300\.00"):
        rollout_step_up_request(deployment_id=deployment.pk, user=ops_user, to_capital="400")
    with pytest.raises(PromotionForbidden, match="may not ask for capital steps"):
        rollout_step_up_request(deployment_id=deployment.pk, user=outsider)
    with pytest.raises(ApplicationError, match="whole cents"):
        rollout_step_up_request(deployment_id=deployment.pk, user=ops_user, to_capital="200.005")
    deployment_pause(deployment_id=deployment.pk, reason="checking", user=ops_user)
    with pytest.raises(ApplicationError, match="only a running deployment steps up"):
        rollout_step_up_request(deployment_id=deployment.pk, user=ops_user)
    assert (RolloutStep.objects.count(), PromotionRequest.objects.count(), bankroll_cash(deployment)) == before
    deployment.refresh_from_db()
    assert deployment.capital == FIRST and not Deployment.objects.filter(predecessor=deployment).exists()


def test_a_rejected_or_expired_step_up_is_refused_and_the_deployment_keeps_its_slice(
        running, notices, real_clock, client, ops_user, ops_signer, risk_user):
    deployment = running()
    with real_clock():
        request = rollout_step_up_request(deployment_id=deployment.pk, user=ops_user)
    client.force_login(ops_signer)
    page = client.get(f"/promotions/requests/{request.pk}/").content.decode()
    assert "A capital step of the gradual rollout" in page and "$250.00 (of the approved $500.00)" in page
    promotion_reject(request_id=request.pk, user=ops_signer, note="not this week")
    step = RolloutStep.objects.get(request=request)
    assert step.status == DecisionStatus.REFUSED and "rejected" in step.rationale

    again = rollout_step_up_request(deployment_id=deployment.pk, user=ops_user)  # the next may be asked for
    assert promotion_expire_due(now=again.expires_at + timedelta(seconds=1)) == [again.pk]
    assert RolloutStep.objects.get(request=again).status == DecisionStatus.REFUSED
    deployment.refresh_from_db()
    assert deployment.status == DeploymentStatus.RUNNING and deployment.capital == FIRST
    assert bankroll_cash(deployment) == FUNDING - FIRST
