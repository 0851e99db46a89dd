"""Telling approvers that a promotion request awaits their step: an e-mail to every active member of the
group whose signature is next, sent by a Celery task after the commit that made the step due."""
from __future__ import annotations

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.urls import reverse

from promotions.models import PromotionRequest, RequestStatus
from promotions.services.requests import request_next_step


def next_role(request: PromotionRequest) -> str | None:
    """The role whose signature the pending request awaits (None once it is decided)."""
    if request.status != RequestStatus.PENDING:
        return None
    step = request_next_step(request)
    return request.roles[step] if step < len(request.roles) else None


def promotion_notify(*, request_id: int) -> list[str]:
    """E-mails the members of the next role's group about request `request_id`; returns the addresses written
    to (none when the request is no longer pending or nobody in the group has an address)."""
    request = PromotionRequest.objects.select_related("candidate", "candidate__agent").get(pk=request_id)
    role = next_role(request)
    if role is None:
        return []
    users = get_user_model().objects.filter(groups__name=role, is_active=True).exclude(email="")
    if request.requested_by_id is not None:
        users = users.exclude(pk=request.requested_by_id)  # the requester never signs
    recipients = sorted({user.email for user in users})
    if recipients:
        send_mail(_subject(request, role), _body(request, role), settings.DEFAULT_FROM_EMAIL, recipients)
    return recipients


def _subject(request: PromotionRequest, role: str) -> str:
    mode = request.payload.get("trading_mode", settings.TRADING_MODE)
    return f"[{mode}] Promotion request {request.pk} awaits the {role} sign-off"


def _body(request: PromotionRequest, role: str) -> str:
    payload, candidate = request.payload, request.candidate
    link = settings.SITE_URL.rstrip("/") + reverse("promotion-request", args=[request.pk])
    return (f"Promotion request {request.pk} awaits your signature as {role}.\n\n"
            f"Candidate: agent {candidate.agent.index} of cohort {candidate.cohort_id} ({candidate.family}), "
            f"rank {candidate.rank}, ROI + Sharpe {candidate.score:.2f}.\n"
            f"Allocation: ${payload.get('allocation', candidate.allocation)} ({payload.get('trading_mode', '')}).\n"
            f"Expires: {request.expires_at:%Y-%m-%d %H:%M} UTC.\n\n"
            f"Review the checks and sign: {link}\n")
