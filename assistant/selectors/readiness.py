"""Is a cohort ready for promotion? Each guard rail and readiness check of its best candidate, and each step of
its request's signature chain, with its state."""
from __future__ import annotations

from cohorts.models import CohortStatus
from cohorts.selectors.cohorts import cohort_get, cohort_visible
from promotions.models import CheckKind, PromotionCandidate, PromotionRequest, RequestStatus
from promotions.selectors.requests import request_chain_state


def promotion_readiness(*, user, cohort_id: int | None = None) -> dict:
    """For cohort `cohort_id` (else the latest weighed cohort `user` may see): `verdict` (not_weighed, not_eligible,
    awaiting_signatures, approved, rejected, expired, cancelled, eligible), the best candidate's checks, and the
    chain of its latest request. Http404 for a cohort `user` may not see."""
    if cohort_id is None:
        weighed = PromotionCandidate.objects.filter(cohort__in=cohort_visible(user)).order_by("-cohort__finished_at",
                                                                                                "-cohort_id")
        cohort_id = weighed.values_list("cohort_id", flat=True).first()
        if cohort_id is None:
            return {"cohort": None, "verdict": "not_weighed", "status": None, "checks": [], "chain": [],
                    "candidate": None, "request": None}
    cohort = cohort_get(user=user, cohort_id=cohort_id)
    candidates = PromotionCandidate.objects.filter(cohort=cohort).select_related("agent").order_by("rank")
    best = candidates.filter(is_eligible=True).first() or candidates.first()
    base = {"cohort": cohort.pk, "status": cohort.status, "checks": [], "chain": [], "candidate": None, "request": None}
    if best is None:
        return {**base, "verdict": "not_weighed" if cohort.status == CohortStatus.COMPLETED else "not_finished"}
    checks = [{"kind": c.kind, "name": c.name, "value": c.value, "threshold": c.threshold, "comparison": c.comparison,
               "passed": c.passed, "detail": c.detail}
              for c in best.checks.order_by("kind", "id") if c.kind in (CheckKind.GUARD, CheckKind.READINESS)]
    request = (PromotionRequest.objects.filter(candidate__cohort=cohort).prefetch_related("signatures__user")
               .order_by("-created_at", "-id").first())
    chain = []
    if request is not None:
        signatures = sorted(request.signatures.all(), key=lambda s: s.pk)
        chain = [{"step": r["step"], "role": r["role"], "state": r["state"], "is_next": r["is_next"],
                  "user": r["user"], "at": r["signed_at"].isoformat() if r["signed_at"] else None}
                 for r in request_chain_state(request, signatures)]
    verdict = _verdict(best, request)
    return {**base, "verdict": verdict, "checks": checks, "chain": chain,
            "candidate": {"agent": best.agent.index, "family": best.family, "rank": best.rank,
                          "allocation": str(best.allocation), "is_eligible": best.is_eligible},
            "request": None if request is None else {"id": request.pk, "status": request.status,
                                                     "expires_at": request.expires_at.isoformat()}}


def _verdict(candidate: PromotionCandidate, request: PromotionRequest | None) -> str:
    if request is not None:
        return "awaiting_signatures" if request.status == RequestStatus.PENDING else request.status
    return "eligible" if candidate.is_eligible else "not_eligible"
