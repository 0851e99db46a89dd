"""The Day-3 go/no-go: from a campaign's PROMOTION_DAY on, each completed day's cohort is weighed once, and its
best eligible agent (if any) is proposed for promotion; the first approvers are told by e-mail after commit.

Idempotent per campaign day: a day whose cohort has been weighed is never weighed or proposed again, whatever
became of its request (signed, rejected or expired). Concurrent runs serialise on the campaign day's row.
"""
from __future__ import annotations

import logging
from dataclasses import asdict, dataclass

from django.conf import settings
from django.db import transaction

from cohorts.models import CohortStatus
from knowledge.models import CampaignDay
from neolight.errors import ApplicationError
from promotions.models import PromotionCandidate
from promotions.services.candidates import candidate_best, promote_intraday_candidate
from promotions.services.requests import promotion_request_create

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DayVerdict:
    """What the go/no-go decided for one campaign day."""

    campaign: int
    day: int
    cohort: int
    candidates: int
    eligible: int
    request: int | None
    outcome: str  # "proposed", "no candidate", "already weighed", "refused"
    reason: str

    def as_dict(self) -> dict:
        return asdict(self)


def day3_due_days(*, campaign_id: int | None = None):
    """Campaign days from PROMOTION_DAY on whose cohort completed and has not been weighed yet, oldest first."""
    days = (CampaignDay.objects.filter(number__gte=settings.PROMOTION_DAY, cohort__status=CohortStatus.COMPLETED)
            .exclude(cohort__promotion_candidates__isnull=False).select_related("cohort", "campaign")
            .order_by("campaign_id", "number"))
    return days.filter(campaign_id=campaign_id) if campaign_id is not None else days


def day3_go_no_go(*, campaign_id: int | None = None) -> list[DayVerdict]:
    """Weighs every due campaign day (of one campaign, or of all) and proposes its best eligible agent."""
    return [_weigh_day(day.pk) for day in day3_due_days(campaign_id=campaign_id)]


def _weigh_day(day_id: int) -> DayVerdict:
    with transaction.atomic():
        day = CampaignDay.objects.select_for_update().select_related("cohort").get(pk=day_id)
        cohort = day.cohort
        if PromotionCandidate.objects.filter(cohort=cohort).exists():
            return _verdict(day, 0, 0, None, "already weighed", "another run weighed this day first")
        candidates = promote_intraday_candidate(cohort)
        eligible = sum(c.is_eligible for c in candidates)
        best = candidate_best(cohort)
        if best is None:
            return _verdict(day, len(candidates), eligible, None, "no candidate", _no_candidate_reason(candidates))
        try:
            with transaction.atomic():
                request = promotion_request_create(candidate=best)
        except ApplicationError as exc:
            log.warning("campaign %s day %s: the request for agent %s was refused: %s",
                        day.campaign_id, day.number, best.agent_id, exc.message)
            return _verdict(day, len(candidates), eligible, None, "refused", exc.message)
    return _verdict(day, len(candidates), eligible, request.pk, "proposed",
                    f"agent {best.agent.index} ({best.family}) proposed with ${best.allocation:,.2f}")


def _verdict(day: CampaignDay, candidates: int, eligible: int, request: int | None, outcome: str,
             reason: str) -> DayVerdict:
    return DayVerdict(campaign=day.campaign_id, day=day.number, cohort=day.cohort_id, candidates=candidates,
                      eligible=eligible, request=request, outcome=outcome, reason=reason)


def _no_candidate_reason(candidates: list[PromotionCandidate]) -> str:
    """Why nobody was proposed, in words: the guard rails the best-ranked agent failed."""
    if not candidates:
        return "the cohort has no agents to weigh"
    best = min(candidates, key=lambda c: c.rank)
    failed = [check.name for check in best.checks.all() if not check.passed]
    return f"no agent passed every guard rail; the best-ranked (agent {best.agent.index}) failed {', '.join(failed)}"

