"""What the assistant says of cohorts and campaigns: their status and headline figures, JSON-ready."""
from __future__ import annotations

from django.shortcuts import get_object_or_404

from cohorts.models import Cohort
from cohorts.selectors.cohorts import cohort_list, cohort_visible
from knowledge.selectors import campaign_get, campaign_report, campaign_visible
from neolight.money import to_cents


def _cents(value) -> str | None:
    return None if value is None else str(to_cents(value))


def cohort_row(cohort: Cohort) -> dict:
    """One cohort's status and figures (amounts as decimal strings, ratios as fractions)."""
    return {"id": cohort.pk, "status": cohort.status, "reason": cohort.status_reason, "mode": cohort.mode,
            "bankroll": _cents(cohort.wallet.bankroll), "final_equity": _cents(cohort.final_equity),
            "roi": cohort.roi, "max_drawdown": cohort.max_drawdown, "progress": cohort.progress,
            "agents": cohort.agent_count, "symbols": list(cohort.symbols), "day_number": cohort.day_number,
            "window_start": cohort.window_start.isoformat(), "window_end": cohort.window_end.isoformat(),
            "created_at": cohort.created_at.isoformat()}


def cohorts_status(*, user, limit: int = 10) -> list[dict]:
    """The latest `limit` cohorts `user` may see, newest first."""
    return [cohort_row(c) for c in cohort_list(user=user)[:limit]]


def cohort_status(*, user, cohort_id: int) -> dict:
    """One cohort `user` may see, or Http404."""
    return cohort_row(get_object_or_404(cohort_visible(user).defer("summary"), pk=cohort_id))


def campaign_status(*, user, campaign_id: int | None = None) -> dict | None:
    """Campaign `campaign_id` (else the latest one `user` may see) as its report reads it; None if there is none."""
    if campaign_id is None:
        campaign = campaign_visible(user).order_by("-created_at", "-id").first()
        if campaign is None:
            return None
    else:
        campaign = campaign_get(user=user, campaign_id=campaign_id)
    report = campaign_report(campaign)
    return {**report, "days_done": sum(1 for d in report["day_results"] if d["final_equity"] is not None)}
