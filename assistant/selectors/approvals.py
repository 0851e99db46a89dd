"""Promotion requests awaiting signatures: which ones the user may sign now, and what holds up the others."""
from __future__ import annotations

from django.utils import timezone

from promotions.models import RequestStatus
from promotions.selectors.requests import request_chain_state, request_list, requests_signable_by


def pending_approvals(*, user) -> dict:
    """Pending requests `user` may see, oldest first, each with the role it waits for and `blocked_by` (why the
    user cannot sign it now, '' when they can); `signable` counts the ones they can sign."""
    signable = {r.pk for r in requests_signable_by(user)}
    groups = set(user.groups.values_list("name", flat=True))
    now = timezone.now()
    rows = []
    pending = (request_list(user=user, status=RequestStatus.PENDING).prefetch_related("signatures__user")
               .order_by("created_at", "id"))
    for request in pending:
        chain = request_chain_state(request, sorted(request.signatures.all(), key=lambda s: s.pk))
        waiting = next((step["role"] for step in chain if step["is_next"]), None)
        rows.append({"id": request.pk, "cohort": request.candidate.cohort_id, "agent": request.candidate.agent.index,
                     "family": request.candidate.family, "allocation": f"{request.candidate.allocation:.2f}",
                     "waiting_for": waiting, "expires_at": request.expires_at.isoformat(),
                     "signed": [f"{s['role']} ({s['user']})" for s in chain if s["state"] == "approved"],
                     "blocked_by": "" if request.pk in signable else _blocker(request, user, groups, waiting, now)})
    return {"requests": rows, "signable": len(signable)}


def _blocker(request, user, groups: set[str], waiting: str | None, now) -> str:
    if request.expires_at <= now:
        return "it has expired"
    if request.requested_by_id == user.pk:
        return "you requested it, so others must sign"
    if waiting is None:
        return "every step is signed"
    if waiting not in groups:
        return f"it waits for a signature from the {waiting} group"
    return "you signed an earlier step; another member must sign this one"
