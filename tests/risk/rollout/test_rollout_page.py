"""The deployment's Capital form on its request's page: a step down at once, a step up to the chain."""
from __future__ import annotations

from decimal import Decimal

import pytest

from promotions.models import DEPLOYMENT_STATES, Deployment, DeploymentStatus, RequestStatus
from risk.models import DecisionStatus, RolloutStep
from tests.promotions.deployments.conftest import FUNDING
from tests.promotions.deployments.helpers import bankroll_cash

pytestmark = pytest.mark.usefixtures("crypto_hours", "at_start")


def test_the_capital_form_steps_down_at_once_and_asks_the_chain_for_a_step_up(running, notices, client, risk_user,
                                                                             ops_user, outsider):
    deployment = running()
    client.force_login(risk_user)
    page = client.get(f"/promotions/requests/{deployment.request_id}/").content.decode()
    assert 'id="capital-form"' in page and "Request step up" in page and "Step down now" in page

    url = f"/promotions/deployments/{deployment.pk}/capital"
    answer = client.post(url, {"action": "step_down", "to_capital": "60", "reason": ""}, follow=True)
    assert "Give a reason" in answer.content.decode()
    answer = client.post(url, {"action": "step_down", "to_capital": "60", "reason": "spreads widened"}, follow=True)
    successor = Deployment.objects.get(predecessor=deployment)
    assert f"deployment {successor.pk} trades $60.00" in answer.content.decode()
    assert successor.capital == Decimal(60) and bankroll_cash(deployment) == FUNDING - Decimal(60)
    assert f"(successor of #{deployment.pk})" in answer.content.decode()  # the page shows the deployment now trading

    DEPLOYMENT_STATES.move(successor.pk, DeploymentStatus.RUNNING)  # its run has begun
    client.force_login(ops_user)
    answer = client.post(f"/promotions/deployments/{successor.pk}/capital", {"action": "step_up"})
    step = RolloutStep.objects.get(deployment=successor, status=DecisionStatus.AWAITING_APPROVAL)
    assert answer.status_code == 302 and answer["Location"] == f"/promotions/requests/{step.request_id}/"
    assert step.to_capital == Decimal(185) and step.request.status == RequestStatus.PENDING  # 60 + 25 % of 500

    client.force_login(outsider)
    client.post(f"/promotions/deployments/{successor.pk}/capital", {"action": "step_down", "to_capital": "1",
                                                                     "reason": "why not"})
    assert not Deployment.objects.filter(predecessor=successor).exists()
