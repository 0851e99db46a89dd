"""Deployments on the ladder: PAPER and TEST steps apply at once; a LIVE step up waits for the approval chain (ops
then risk) and applies on its final approval, is refused when rejected or expired, and is overtaken by a step
down, which never waits."""
from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from neolight.errors import ApplicationError
from promotions.models import Deployment, PromotionRequest, RequestStatus
from promotions.services.requests import promotion_expire_due, promotion_reject, promotion_sign
from risk.models import DecisionStatus, LeverageDecision
from risk.selectors.leverage import current_tier
from risk.services.leverage import leverage_evaluate
from tests.risk.ladder.conftest import equity_path, set_equity

RISING = equity_path([0.010, 0.012, 0.011, 0.010])  # three returns make the window; the fourth keeps rising


def evaluate_along(deployment, path):
    decisions = []
    for equity in path:
        set_equity(deployment, equity)
        decisions.append(leverage_evaluate(deployment=deployment))
    return decisions


@pytest.mark.parametrize("mode", ["PAPER", "TEST"])
def test_a_paper_or_test_step_up_applies_at_once(ladder, deployment_of, mode):
    deployment = deployment_of(mode)
    *holds, up = evaluate_along(deployment, RISING[:3])
    assert [d.rule for d in holds] == ["hold_insufficient_data"] * 2
    assert (up.rule, up.from_tier, up.to_tier, up.status, up.request) == ("step_up", 2, 3, DecisionStatus.APPLIED, None)
    assert up.inputs["equity"] == str(RISING[2]) and up.inputs["samples"] == 3
    assert up.inputs["periods_per_year"] == 8760.0  # BTC-USDT trades 24/7, sampled every 60 minutes
    assert current_tier(deployment=deployment) == Decimal(3)


def test_a_live_step_up_waits_for_ops_and_risk_then_applies(ladder, deployment_of, signers,
                                                            django_capture_on_commit_callbacks):
    deployment = deployment_of("LIVE")
    up = evaluate_along(deployment, RISING[:3])[-1]
    assert (up.rule, up.status) == ("step_up", DecisionStatus.AWAITING_APPROVAL)
    request = up.request
    assert request.status == RequestStatus.PENDING and request.candidate_id == deployment.request.candidate_id
    assert request.payload["leverage_step"] == {"deployment": deployment.pk, "decision": up.pk, "to": "3.00"}
    assert request.payload["family"] == "vwap_scalper" and request.roles == ["ops", "risk"]
    assert current_tier(deployment=deployment) == Decimal(2)

    held = evaluate_along(deployment, RISING[3:])[0]  # still rising while the chain signs: not asked twice
    assert (held.rule, held.from_tier, held.to_tier, held.status) == ("hold_awaiting_approval", 2, 2, "applied")
    assert PromotionRequest.objects.filter(candidate=request.candidate, status=RequestStatus.PENDING).count() == 1

    promotion_sign(request_id=request.pk, user=signers["ops"], note="sized fine")
    assert current_tier(deployment=deployment) == Decimal(2)
    with django_capture_on_commit_callbacks(execute=True):
        promotion_sign(request_id=request.pk, user=signers["risk"], note="within limits")
    up.refresh_from_db()
    assert up.status == DecisionStatus.APPLIED and up.applied_at > held.created_at
    assert current_tier(deployment=deployment) == Decimal(3)  # from the approval on, though a hold came later
    assert not Deployment.objects.filter(request=request).exists()  # the approval moved the tier, started nothing
    next_one = leverage_evaluate(deployment=deployment)
    assert next_one.from_tier == Decimal(3)


def test_a_rejected_live_step_up_is_refused(ladder, deployment_of, signers):
    deployment = deployment_of("LIVE")
    up = evaluate_along(deployment, RISING[:3])[-1]
    promotion_reject(request_id=up.request_id, user=signers["ops"], note="not this week")
    up.refresh_from_db()
    assert up.status == DecisionStatus.REFUSED and "rejected by opsie (ops): not this week" in up.rationale
    assert current_tier(deployment=deployment) == Decimal(2)
    again = evaluate_along(deployment, RISING[3:])[0]  # the chain may be asked again
    assert again.status == DecisionStatus.AWAITING_APPROVAL and again.request_id != up.request_id


def test_an_expired_live_step_up_is_refused(ladder, deployment_of):
    deployment = deployment_of("LIVE")
    up = evaluate_along(deployment, RISING[:3])[-1]
    assert promotion_expire_due(timezone.now() + timedelta(days=2)) == [up.request_id]
    up.refresh_from_db()
    assert up.status == DecisionStatus.REFUSED and "not signed in time" in up.rationale


def test_a_step_down_never_waits_and_overtakes_a_waiting_step_up(ladder, deployment_of):
    deployment = deployment_of("LIVE")
    up = evaluate_along(deployment, RISING[:3])[-1]
    down = evaluate_along(deployment, [RISING[2] * Decimal("0.93")])[0]  # 7% off the peak
    assert (down.rule, down.from_tier, down.to_tier, down.status) == ("step_down_drawdown", 2, 1, "applied")
    assert current_tier(deployment=deployment) == Decimal(1)
    up.refresh_from_db()
    assert up.status == DecisionStatus.REFUSED and f"overtaken by the step down of decision {down.pk}" in up.rationale
    assert PromotionRequest.objects.get(pk=up.request_id).status == RequestStatus.CANCELLED


def test_a_live_step_up_is_refused_when_the_chain_cannot_be_asked(ladder, deployment_of, groups):
    deployment = deployment_of("LIVE")
    signed = deployment.request
    renewal = PromotionRequest.objects.create(  # the candidate's one open request: a renewal awaiting signatures
        candidate=signed.candidate, payload={**signed.payload, "renews": deployment.pk}, payload_digest="1" * 64,
        roles=signed.roles, expires_at=timezone.now() + timedelta(hours=1))
    up = evaluate_along(deployment, RISING[:3])[-1]
    assert up.status == DecisionStatus.REFUSED and "the approval chain could not be asked" in up.rationale
    assert f"already has an open request ({renewal.pk})" in up.rationale
    assert up.request is None and current_tier(deployment=deployment) == Decimal(2)
    groups["risk"].delete()  # nor when the chain names a group that no longer exists
    renewal.status = RequestStatus.CANCELLED
    renewal.save()
    again = evaluate_along(deployment, RISING[3:])[-1]
    assert again.status == DecisionStatus.REFUSED and "groups that do not exist: risk" in again.rationale


def test_an_ended_deployment_is_not_evaluated(ladder, deployment_of):
    deployment = deployment_of("PAPER")
    type(deployment).objects.filter(pk=deployment.pk).update(status="completed")
    with pytest.raises(ApplicationError) as refused:
        leverage_evaluate(deployment=deployment)
    assert refused.value.field == "deployment"
    assert not LeverageDecision.objects.filter(deployment=deployment).exists()
