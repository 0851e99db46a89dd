"""A deployment is narrated as it starts, is paused by hand and rolled back; a rollback gets one post-mortem (its
timeline, figures before and after, the decisions and who made them, links), written once however often its
trigger runs, and shown in the knowledge base. Nothing is said about a rollback that itself rolled back."""
from __future__ import annotations

import re

import pytest
from django.db import transaction
from django.urls import reverse

from assistant.services.narration import narrate
from assistant.services.postmortem import postmortem_rollback
from promotions.models import DeploymentStatus
from promotions.services.deployments import deployment_rollback, deployment_start
from tests.assistant.narration.conftest import events, post_mortems, said
from tests.promotions.deployments.conftest import FUNDING
from tests.promotions.deployments.helpers import bankroll_cash, broker_cash

pytestmark = pytest.mark.usefixtures("crypto_hours", "at_start", "eager")


def test_a_breach_rolls_back_once_with_its_narration_and_one_post_mortem(approved, commit):
    request = approved(capital="500", hours=1, max_drawdown=0.0001)
    with commit():
        deployment = deployment_start(request_id=request.pk, clock="replay")
    deployment.refresh_from_db()
    assert deployment.status == DeploymentStatus.ROLLED_BACK
    returned = broker_cash(deployment)
    assert bankroll_cash(deployment) == FUNDING - deployment.capital + returned

    # the deployment's own cohort and the rollback's alert say nothing of their own
    assert events() == ["deployment.started", "deployment.rolled_back", "post_mortem.written"]
    assert said("deployment.started") == [f"Deployment {deployment.pk} started: vwap_scalper with $500.00 on the paper "
                                          f"broker (PAPER) until {deployment.ends_at:%Y-%m-%d %H:%M} UTC."]
    rolled, = said("deployment.rolled_back")
    assert re.fullmatch(rf"Deployment {deployment.pk} rolled back: drawdown \d+\.\d+ % ≥ 0\.01 %\. "
                        rf"Capital \${returned:,.2f} returned\.", rolled), rolled
    assert said("post_mortem.written") == [f"Post-mortem written for deployment {deployment.pk}'s rollback."]

    written, = post_mortems()
    assert written.title == f"Post-mortem: deployment {deployment.pk} rolled back"
    assert written.data["links"] == {"deployment": deployment.pk, "request": request.pk,
                                     "cohort": deployment.run.cohort_id}
    assert written.data["figures"]["returned"] == str(returned)
    body = written.body
    for part in ("Capital drawn: $500.00", f"Capital returned: ${returned:,.2f}", "Peak equity $",
                 "the deployment's signed limits rolled it back automatically", "Timeline (UTC)",
                 "Deployment started: PAPER deployment of vwap_scalper", "Order: PAPER BUY",
                 "Rolled back: Automatic: drawdown", f"/promotions/requests/{request.pk}/"):
        assert part in body, part

    # the trigger runs again (a retried callback, a second narration): still one post-mortem
    assert postmortem_rollback(deployment=deployment).pk == written.pk
    with commit():
        narrate("deployment.rolled_back", deployment=deployment)
    assert len(post_mortems()) == 1 and len(said("post_mortem.written")) == 1


def test_a_rollback_by_hand_names_who_decided_and_a_rolled_back_one_says_nothing(approved, commit, risk_user, client):
    request = approved(capital="300", hours=1)
    deployment = deployment_start(request_id=request.pk, run=False)
    with commit(), pytest.raises(RuntimeError), transaction.atomic():
        deployment_rollback(deployment_id=deployment.pk, reason="the desk is closing", user=risk_user)
        raise RuntimeError("the request failed after the rollback")
    assert said() == [] and post_mortems() == []

    with commit():
        deployment_rollback(deployment_id=deployment.pk, reason="the desk is closing", user=risk_user)
    assert said("deployment.rolled_back") == [f"Deployment {deployment.pk} rolled back: the desk is closing by risky. "
                                              "Capital $300.00 returned."]
    written, = post_mortems()
    assert "risky rolled it back by hand" in written.body
    assert "risky at " in written.body and "Rolled back: the desk is closing" in written.body
    assert "Capital returned: $300.00 ($0.00 on the capital)" in written.body

    client.force_login(risk_user)
    page = client.get(reverse("knowledge-index"), {"kind": "post_mortem"}).content.decode()
    assert written.title in page
    assert '<div class="post-mortem">' in page and "Decisions and who made them" in page
    assert f'href="/trading/cohorts/{deployment.run.cohort_id}/"' in page
