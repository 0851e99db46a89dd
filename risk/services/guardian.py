"""The guardian: the kill switch that halts everything at once.

Engaging it pauses every running deployment (no order leaves NeoLight until it is released and each is resumed)
and is recorded with who and why; releasing it records the same and resumes nothing by itself.
"""
from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from neolight.errors import ApplicationError
from neolight.realtime import RISK, broadcast_on_commit
from promotions.models import Deployment, DeploymentStatus
from promotions.services.deployments import deployment_pause
from risk.models import KillSwitch, KillSwitchEvent


class KillSwitchForbidden(ApplicationError):
    status_code = 403


def kill_switch_state() -> KillSwitch:
    return KillSwitch.objects.get_or_create(pk=1)[0]


def kill_switch_engage(*, user, reason: str) -> KillSwitch:
    """Engages the kill switch: every running deployment is paused. Needs `risk.operate_kill_switch` and a reason."""
    reason = _checked(user, reason)
    with transaction.atomic():
        switch = _locked()
        switch.engaged, switch.reason, switch.changed_by, switch.changed_at = True, reason, user, timezone.now()
        switch.save()
        paused = []
        for deployment_id in Deployment.objects.filter(status=DeploymentStatus.RUNNING).values_list("pk", flat=True):
            if deployment_pause(deployment_id=deployment_id, reason=f"Kill switch: {reason}") is not None:
                paused.append(deployment_id)
        KillSwitchEvent.objects.create(engaged=True, reason=reason, actor=user, data={"paused_deployments": paused})
        broadcast_on_commit(RISK, "kill_switch", {"engaged": True})
    return switch


def kill_switch_release(*, user, reason: str) -> KillSwitch:
    """Releases the kill switch; deployments stay paused until someone resumes each."""
    reason = _checked(user, reason)
    with transaction.atomic():
        switch = _locked()
        switch.engaged, switch.reason, switch.changed_by, switch.changed_at = False, reason, user, timezone.now()
        switch.save()
        KillSwitchEvent.objects.create(engaged=False, reason=reason, actor=user)
        broadcast_on_commit(RISK, "kill_switch", {"engaged": False})
    return switch


def _checked(user, reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise ApplicationError("Give a reason for the kill switch.", field="reason")
    if user is None or not user.has_perm("risk.operate_kill_switch"):
        raise KillSwitchForbidden("You may not operate the kill switch: it needs the permission "
                                  "“Can engage and release the kill switch”.", field="user")
    return reason[:300]


def _locked() -> KillSwitch:
    kill_switch_state()
    return KillSwitch.objects.select_for_update().get(pk=1)
