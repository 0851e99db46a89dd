"""Human overrides — pause, resume, roll back now — need a reason and a member of ops or risk (superusers
included); each is logged with who and why. Refusals leave no trace."""
from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.contrib.auth.models import Group

from cohorts.models import CohortSettlement, CohortStatus, SettlementKind
from neolight.errors import ApplicationError
from promotions.models import DEPLOYMENT_STATES, DeploymentStatus, LogKind, PromotionLog
from promotions.services.deployments import (
    DEPLOYMENTS,
    OverrideRefused,
    deployment_pause,
    deployment_resume,
    deployment_rollback,
    deployment_start,
)
from tests.promotions.deployments.conftest import FUNDING
from tests.promotions.deployments.helpers import bankroll_cash

OVERRIDES = [deployment_pause, deployment_rollback]


async def drain(layer, channel: str) -> list[dict]:
    """Every message waiting on `channel` (what a dashboard listening to deployments heard)."""
    messages = []
    while True:
        try:
            messages.append(await asyncio.wait_for(layer.receive(channel), timeout=0.5))
        except TimeoutError:
            return messages

pytestmark = pytest.mark.usefixtures("crypto_hours")


@pytest.fixture
def running(approved):
    """A deployment moved to running (its run is not needed to override it)."""
    deployment = deployment_start(request_id=approved(capital="500").pk)
    return DEPLOYMENT_STATES.move(deployment.pk, DeploymentStatus.RUNNING)


def untouched(deployment) -> bool:
    deployment.refresh_from_db()
    return (deployment.status == DeploymentStatus.RUNNING
            and not deployment.log.exclude(kind=LogKind.DEPLOYED).exists())


@pytest.mark.parametrize("override", OVERRIDES)
@pytest.mark.parametrize("reason", ["", "   ", None])
def test_an_override_without_a_reason_is_refused(running, ops_user, override, reason):
    with pytest.raises(ApplicationError) as refused:
        override(deployment_id=running.pk, reason=reason, user=ops_user)
    assert refused.value.field == "reason"
    assert untouched(running)


@pytest.mark.parametrize("override", OVERRIDES)
def test_outsiders_and_superusers_outside_the_groups_may_not_override(running, outsider, superuser, override):
    for user in (outsider, superuser):
        with pytest.raises(OverrideRefused):
            override(deployment_id=running.pk, reason="I think it should stop", user=user)
    assert untouched(running)


def test_a_superuser_in_ops_still_gives_a_reason(running, superuser):
    superuser.groups.add(Group.objects.get_or_create(name="ops")[0])
    with pytest.raises(ApplicationError):
        deployment_pause(deployment_id=running.pk, reason="", user=superuser)
    assert deployment_pause(deployment_id=running.pk, reason="maintenance window", user=superuser) is not None


def test_ops_pauses_and_risk_resumes_each_logged_with_who_and_why(running, ops_user, risk_user):
    paused = deployment_pause(deployment_id=running.pk, reason="exchange incident", user=ops_user)
    assert paused.status == DeploymentStatus.PAUSED and paused.status_reason == "exchange incident"
    assert deployment_pause(deployment_id=running.pk, reason="again", user=ops_user) is None  # already paused
    resumed = deployment_resume(deployment_id=running.pk, reason="incident closed", user=risk_user)
    assert resumed.status == DeploymentStatus.RUNNING
    rows = PromotionLog.objects.filter(deployment=running, kind__in=[LogKind.PAUSED, LogKind.RESUMED]).order_by("id")
    assert [(r.kind, r.actor, r.data["reason"]) for r in rows] == [
        (LogKind.PAUSED, ops_user, "exchange incident"), (LogKind.RESUMED, risk_user, "incident closed")]


def test_risk_rolls_back_a_deployment_before_it_traded_and_the_capital_comes_back_whole(
        running, risk_user, django_capture_on_commit_callbacks):
    assert bankroll_cash(running) == FUNDING - running.capital
    layer = get_channel_layer()
    watcher = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(DEPLOYMENTS, watcher)
    with django_capture_on_commit_callbacks(execute=True):
        rolled = deployment_rollback(deployment_id=running.pk, reason="the allocation was wrong", user=risk_user)
    messages = async_to_sync(drain)(layer, watcher)
    assert len(messages) == 2
    heard = {m["event"]: m["payload"] for m in messages}
    assert heard.keys() == {"deployment.ended", "deployment.rolled_back"}
    assert heard["deployment.ended"] == {"deployment": running.pk, "status": DeploymentStatus.ROLLED_BACK,
                                         "returned": str(running.capital)}
    assert rolled.status == DeploymentStatus.ROLLED_BACK and rolled.finished_at is not None
    assert bankroll_cash(running) == FUNDING
    cohort = running.run.cohort
    cohort.refresh_from_db()
    assert cohort.status == CohortStatus.FAILED
    assert CohortSettlement.objects.get(cohort=cohort).kind == SettlementKind.REFUND
    row = running.log.get(kind=LogKind.ROLLED_BACK)
    assert row.actor == risk_user and row.data["reason"] == "the allocation was wrong"
    with pytest.raises(ApplicationError):  # an ended deployment is not resumed
        deployment_resume(deployment_id=running.pk, reason="", user=risk_user)
    assert deployment_resume(deployment_id=running.pk, reason="undo", user=risk_user) is None


def test_the_day3_page_offers_overrides_to_ops_and_risk_and_logs_who_and_why(running, ops_user, risk_user, outsider,
                                                                             client):
    page = f"/promotions/requests/{running.request_id}/"
    override = f"/promotions/deployments/{running.pk}/override"
    client.force_login(outsider)
    assert 'value="rollback"' not in client.get(page).content.decode()
    response = client.post(override, {"action": "rollback", "reason": "I think so"}, follow=True)
    assert "Only members of ops or risk" in response.content.decode() and untouched(running)

    client.force_login(ops_user)
    assert 'value="pause"' in client.get(page).content.decode()
    response = client.post(override, {"action": "pause", "reason": ""}, follow=True)
    assert "Give a reason for this override." in response.content.decode() and untouched(running)
    response = client.post(override, {"action": "pause", "reason": "Broker maintenance at 14:00"}, follow=True)
    html = response.content.decode()
    assert f"Deployment {running.pk} paused." in html and 'value="resume"' in html and 'value="pause"' not in html

    client.force_login(risk_user)
    client.post(override, {"action": "resume", "reason": "Maintenance over"})
    running.refresh_from_db()
    assert running.status == DeploymentStatus.RUNNING
    log = running.log.filter(kind__in=[LogKind.PAUSED, LogKind.RESUMED]).order_by("created_at", "id")
    assert [(row.kind, row.actor.username) for row in log] == [(LogKind.PAUSED, "opsie"), (LogKind.RESUMED, "risky")]
    assert "Broker maintenance at 14:00" in log[0].message and "Maintenance over" in log[1].message


def test_a_renewal_goes_through_the_chain_and_its_last_signature_moves_the_timer(
        running, ops_user, risk_user, outsider, client, django_capture_on_commit_callbacks):
    from promotions.models import RequestStatus
    from promotions.services.requests import promotion_renewal_request, promotion_sign
    from tests.factories import UserFactory

    second_ops = UserFactory(username="opsie2")
    second_ops.groups.add(Group.objects.get(name="ops"))
    with pytest.raises(ApplicationError, match="may not ask for renewals"):
        promotion_renewal_request(deployment_id=running.pk, user=outsider)
    before = running.ends_at

    client.force_login(ops_user)
    response = client.post(f"/promotions/deployments/{running.pk}/renewal", {"hours": "1"}, follow=True)
    renewal = running.request.candidate.requests.get(status=RequestStatus.PENDING)
    assert renewal.payload["renews"] == running.pk and renewal.payload["limits"]["hours"] == 1
    assert f"pushes the timer of deployment #{running.pk} out by 1 h" in " ".join(response.content.decode().split())
    with pytest.raises(ApplicationError, match="changed|requested|may not sign"):  # the requester never signs
        promotion_sign(request_id=renewal.pk, user=ops_user, note="mine")

    promotion_sign(request_id=renewal.pk, user=second_ops, note="Still within limits")
    running.refresh_from_db()
    assert running.ends_at == before  # nothing moves before the last signature
    with django_capture_on_commit_callbacks(execute=True):
        promotion_sign(request_id=renewal.pk, user=risk_user, note="One more hour")
    running.refresh_from_db()
    assert running.ends_at == before + timedelta(hours=1)
    assert running.log.filter(kind=LogKind.RENEWED).count() == 1
    assert running.request.candidate.requests.filter(status=RequestStatus.APPROVED).count() == 2
