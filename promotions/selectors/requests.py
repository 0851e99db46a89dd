"""Reads of the approval chain: who may see and sign which request, a request's checks and chain state, and
the verification of every signature chain (what `verify_signatures` and the admin show)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Count, F, Q, QuerySet
from django.utils import timezone
from guardian.shortcuts import get_objects_for_user

from neolight.errors import ApplicationError
from promotions.canonical import Broken, chain_verify
from promotions.models import (
    Decision,
    Deployment,
    LogKind,
    PromotionCandidate,
    PromotionLog,
    PromotionRequest,
    RequestStatus,
    Signature,
)
from promotions.permissions import SIGN_PERMISSION, PromotionNotFound, is_approver

RISK_METRICS = ("roi", "sharpe", "max_drawdown", "trades", "win_rate")


def candidate_for(cohort_id: int, agent_index: int) -> PromotionCandidate:
    """The candidate row of agent `agent_index` of cohort `cohort_id`; refuses a cohort not weighed yet."""
    candidates = PromotionCandidate.objects.filter(cohort_id=cohort_id).select_related("cohort", "agent")
    if not candidates.exists():
        raise ApplicationError(f"cohort {cohort_id} has not been weighed for promotion", field="cohort")
    candidate = candidates.filter(agent__index=agent_index).first()
    if candidate is None:
        raise ApplicationError(f"cohort {cohort_id} has no candidate agent {agent_index}", field="agent")
    return candidate


def request_list(*, user, status: str | None = None) -> QuerySet[PromotionRequest]:
    """The requests `user` may see (all for ops and the approval roles; else the ones they requested or may
    sign), newest first, optionally of one `status`."""
    requests = PromotionRequest.objects.select_related("candidate__cohort", "candidate__agent", "requested_by")
    if not is_approver(user):
        signable = get_objects_for_user(user, SIGN_PERMISSION, klass=PromotionRequest, with_superuser=False,
                                        accept_global_perms=False).values("pk")
        requests = requests.filter(Q(requested_by=user) | Q(pk__in=signable))
    if status:
        requests = requests.filter(status=status)
    return requests


def request_get(*, user, request_id: int) -> PromotionRequest:
    """Request `request_id` if `user` may see it; 404 otherwise (whether or not it exists)."""
    request = request_list(user=user).filter(pk=request_id).first()
    if request is None:
        raise PromotionNotFound(f"No promotion request {request_id}.", field="request")
    return request


def requests_signable_by(user, *, request_id: int | None = None) -> list[PromotionRequest]:
    """Pending, unexpired requests (all, or only `request_id`) whose next step `user` may sign now: the object
    permission (never for being a superuser), membership of the next step's group, not the requester, and no
    step of it signed yet."""
    if user is None or not user.is_active:
        return []
    pending = PromotionRequest.objects.all() if request_id is None else PromotionRequest.objects.filter(pk=request_id)
    pending = (pending.filter(status=RequestStatus.PENDING, expires_at__gt=timezone.now())
               .exclude(requested_by=user)
               .annotate(signed=Count("signatures", filter=Q(signatures__payload_digest=F("payload_digest")))))
    permitted = get_objects_for_user(user, SIGN_PERMISSION, klass=pending, with_superuser=False,
                                     accept_global_perms=False)
    groups = set(user.groups.values_list("name", flat=True))
    signed_by_user = set(Signature.objects.filter(user=user).values_list("request_id", flat=True))
    return [r for r in permitted.order_by("expires_at", "pk")
            if r.signed < len(r.roles) and r.roles[r.signed] in groups and r.pk not in signed_by_user]


@dataclass(frozen=True)
class Verification:
    requests: int
    signatures: int
    broken: list[Broken]


def request_chain_broken(request: PromotionRequest) -> list[Broken]:
    """Every signature of `request` that does not verify: `chain_verify` over its rows, plus any signature the
    promotion log does not record (a row inserted behind the services' back)."""
    signatures = list(request.signatures.all())
    logged = PromotionLog.objects.filter(request=request)
    digests = [d.get("from") for d in logged.filter(kind=LogKind.PAYLOAD_CHANGED).values_list("data", flat=True)]
    recorded = {d.get("signature") for d in logged.filter(kind__in=[LogKind.SIGNED, LogKind.REJECTED])
                .values_list("data", flat=True)}
    broken = chain_verify(request, signatures, [d for d in digests if d])
    broken += [Broken(request.pk, s.pk, "no promotion log row records it (inserted outside the signing services)")
               for s in signatures if s.pk not in recorded]
    approvals = {s.step for s in signatures if s.payload_digest == request.payload_digest and s.decision == Decision.APPROVE}
    if request.status == RequestStatus.APPROVED and approvals != set(range(len(request.roles))):
        broken.append(Broken(request.pk, None, f"approved with {len(approvals)} of {len(request.roles)} approvals "
                                               f"over its payload"))
    return sorted(broken, key=lambda b: (b.request_id, b.signature_id or 0))


def chains_verify() -> Verification:
    """Recomputes every request's chain: how many requests and signatures there are, and what does not verify
    (a signature, or an approved request without its chain)."""
    requests = (PromotionRequest.objects.filter(Q(signatures__isnull=False) | Q(status=RequestStatus.APPROVED))
                .distinct().order_by("pk"))
    broken = [b for request in requests for b in request_chain_broken(request)]
    signed = PromotionRequest.objects.filter(signatures__isnull=False).distinct().count()
    return Verification(requests=signed, signatures=Signature.objects.count(), broken=broken)


def request_detail(request: PromotionRequest | int) -> dict[str, Any]:
    """A request (or its id) as the API and the admin show it: payload, checks, the candidate's risk metrics,
    the chain state of each role, every signature with its verification, and the deployment if one started."""
    if not isinstance(request, PromotionRequest):
        request = PromotionRequest.objects.select_related("candidate__agent", "requested_by").get(pk=request)
    candidate = request.candidate
    broken = request_chain_broken(request)
    faults: dict[int, list[str]] = {}
    for b in broken:
        faults.setdefault(b.signature_id, []).append(b.reason)  # None: the request's own
    signatures = list(request.signatures.select_related("user").order_by("id"))
    return {
        "request": request,
        "checks": list(candidate.checks.all()),
        "metrics": {name: getattr(candidate.agent, name) for name in RISK_METRICS},
        "chain": request_chain_state(request, signatures),
        "signatures": [{"signature": s, "is_current": s.payload_digest == request.payload_digest,
                        "verified": s.pk not in faults, "problems": faults.get(s.pk, [])} for s in signatures],
        "verified": not broken,
        "problems": faults.get(None, []),
        "deployment": Deployment.objects.filter(request=request).values_list("pk", flat=True).first(),
        "is_expired": request.status == RequestStatus.PENDING and timezone.now() >= request.expires_at,
    }


def request_chain_state(request: PromotionRequest, signatures: list[Signature]) -> list[dict[str, Any]]:
    """Each role of the chain in order: `approved` or `rejected` (by whom, when) over the current payload,
    `pending` (its turn, or still to come) while the request is open, else `void`; `voided` counts its
    signatures over an earlier payload."""
    current = {s.step: s for s in signatures if s.payload_digest == request.payload_digest}
    open_ = request.status == RequestStatus.PENDING and timezone.now() < request.expires_at
    next_step = len(current)
    chain = []
    for step, role in enumerate(request.roles):
        signature = current.get(step)
        voided = sum(1 for s in signatures if s.step == step and s.payload_digest != request.payload_digest)
        if signature is not None:
            state = "approved" if signature.decision == Decision.APPROVE else "rejected"
        else:
            state = "pending" if open_ else "void"
        chain.append({"step": step, "role": role, "state": state, "is_next": open_ and step == next_step,
                      "user": signature.user.get_username() if signature else None,
                      "user_id": signature.user_id if signature else None,
                      "signed_at": signature.signed_at if signature else None,
                      "note": signature.note if signature else "", "voided": voided})
    return chain


def may_sign_now(user, request: PromotionRequest) -> bool:
    """Whether the admin and the API should offer `user` the Approve/Reject buttons (the services decide)."""
    return bool(requests_signable_by(user, request_id=request.pk))
