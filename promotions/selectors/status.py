"""What the Day-3 page, `promotion_status` and the cohort and campaign pages read of promotions."""
from __future__ import annotations

import json

from django.db.models import Case, Count, IntegerField, Q, Value, When
from django.shortcuts import get_object_or_404

from promotions.models import (
    CheckKind,
    Deployment,
    DeploymentStatus,
    PromotionCandidate,
    PromotionLog,
    PromotionRequest,
    RequestStatus,
)
from promotions.permissions import in_approval_roles
from promotions.selectors.deployments import deployment_brief, deployment_list
from promotions.selectors.requests import may_sign_now, request_chain_state
from promotions.services.notify import next_role

DEPLOYMENT_LIVE = (DeploymentStatus.PENDING, DeploymentStatus.RUNNING, DeploymentStatus.PAUSED)


def chain_state(request: PromotionRequest) -> list[dict]:
    """Each role of the request's chain, in order, as `request_chain_state` reads it, with the signer's name
    (`user`, None before it is signed) and time as text (`at`, ISO, UTC) for the command's JSON. Reads the
    request's signatures through `.all()`, so a prefetch serves them."""
    signatures = sorted(request.signatures.all(), key=lambda s: s.pk)
    return [{**{k: v for k, v in row.items() if k != "signed_at"},
             "at": row["signed_at"].isoformat() if row["signed_at"] else ""}
            for row in request_chain_state(request, signatures)]


def _request_row(request: PromotionRequest) -> dict:
    candidate = request.candidate
    return {"id": request.pk, "status": request.status, "cohort": candidate.cohort_id, "agent": candidate.agent.index,
            "family": candidate.family, "allocation": f"{candidate.allocation:.2f}",
            "requested_by": request.requested_by.get_username() if request.requested_by else "day-3 go/no-go",
            "created_at": request.created_at.isoformat(), "expires_at": request.expires_at.isoformat(),
            "chain": chain_state(request)}


def promotion_status(*, limit: int = 20) -> dict:
    """Pending requests (all, oldest first), then the latest `limit` decided ones; running and paused
    deployments, then the latest `limit` ended ones."""
    requests = (PromotionRequest.objects.select_related("candidate__agent", "requested_by")
                .prefetch_related("signatures__user")
                .annotate(pending=Case(When(status=RequestStatus.PENDING, then=Value(0)), default=Value(1),
                                       output_field=IntegerField())))
    pending = list(requests.filter(pending=0).order_by("created_at", "id"))
    decided = list(requests.filter(pending=1).order_by("-created_at", "-id")[:limit])
    deployments = deployment_list()
    deployments = [*deployments.filter(status__in=DEPLOYMENT_LIVE).order_by("created_at"),
                   *deployments.exclude(status__in=DEPLOYMENT_LIVE).order_by("-created_at")[:limit]]
    return {"requests": [_request_row(r) for r in pending + decided],
            "deployments": [deployment_brief(d) for d in deployments]}


def _weighed(candidates) -> dict[int, dict]:
    """Per cohort of `candidates`: agents weighed and eligible, and its latest request (or None)."""
    counts = candidates.values("cohort_id").annotate(weighed=Count("id"), eligible=Count("id", filter=Q(is_eligible=True)))
    rows = {row["cohort_id"]: {"weighed": row["weighed"], "eligible": row["eligible"], "request": None}
            for row in counts}
    for request in (PromotionRequest.objects.filter(candidate__cohort_id__in=rows)
                    .select_related("candidate").order_by("created_at", "id")):
        rows[request.candidate.cohort_id]["request"] = request  # the latest wins
    return rows


def cohort_promotion(cohort_id: int) -> dict | None:
    """For the cohort page: whether the cohort was weighed, how many agents passed, its request if any."""
    return _weighed(PromotionCandidate.objects.filter(cohort_id=cohort_id)).get(cohort_id)


def campaign_promotions(campaign_id: int) -> list[dict]:
    """For the campaign page: each weighed day's outcome — its request (id, status) or that nobody passed."""
    candidates = PromotionCandidate.objects.filter(campaign_day__campaign_id=campaign_id)
    days = dict(candidates.values_list("cohort_id", "campaign_day__number").distinct())
    return [{"day": days[cohort_id], "cohort": cohort_id, **row}
            for cohort_id, row in sorted(_weighed(candidates).items(), key=lambda item: days[item[0]])]


def promotion_page(*, request_id: int, user) -> dict:
    """Everything the Day-3 page shows of one request."""
    request = get_object_or_404(PromotionRequest.objects.select_related("candidate__agent", "candidate__cohort",
                                                                        "requested_by"), pk=request_id)
    checks = list(request.candidate.checks.all())
    deployment = Deployment.objects.filter(request=request).first()
    signatures = list(request.signatures.select_related("user").order_by("id"))
    return {"req": request, "candidate": request.candidate, "agent": request.candidate.agent,
            "guards": [c for c in checks if c.kind == CheckKind.GUARD],
            "readiness": [c for c in checks if c.kind == CheckKind.READINESS],
            "chain": request_chain_state(request, signatures), "next_role": next_role(request),
            "may_sign": may_sign_now(user, request), "deployment": deployment,
            "may_override": deployment is not None and deployment.status in DEPLOYMENT_LIVE
            and in_approval_roles(user),
            "payload_json": json.dumps(request.payload, indent=2, sort_keys=True),
            "log": PromotionLog.objects.filter(request=request).select_related("actor").order_by("-created_at", "-id")[:30]}
