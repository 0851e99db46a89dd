"""Day-3 candidates: a completed cohort's agents ranked by ROI + Sharpe, each weighed against every guard rail
and readiness check, written once with its checks (append-only on PostgreSQL)."""
from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import transaction

from cohorts.models import Cohort, CohortStatus
from neolight.errors import ApplicationError
from promotions import engine
from promotions.models import GuardCheck, LogKind, PromotionCandidate, PromotionLog, PromotionPolicy
from promotions.selectors.evidence import cohort_evidence


def promotion_guards(policy: PromotionPolicy | None) -> dict[str, float]:
    """The thresholds in force: settings.PROMOTION_GUARDS overridden key by key by the policy's `guards`."""
    guards = {**settings.PROMOTION_GUARDS, **((policy.guards or {}) if policy else {})}
    unknown = sorted(set(guards) - set(engine.gate.SPECS))
    if unknown:
        raise ApplicationError(f"Unknown promotion guard(s): {', '.join(unknown)}.", field="guards")
    return guards


def promotion_policy_default() -> PromotionPolicy | None:
    return PromotionPolicy.objects.filter(is_default=True).first()


def allocation_for(bankroll: Decimal) -> Decimal:
    """PROMOTION_ALLOCATION_FRACTION of `bankroll` in cents, at least PROMOTION_ALLOCATION_MIN when the
    bankroll allows it, at most PROMOTION_MICRO_LIVE_CAP."""
    return engine.allocation_propose(bankroll=bankroll, fraction=settings.PROMOTION_ALLOCATION_FRACTION,
                                     minimum=Decimal(settings.PROMOTION_ALLOCATION_MIN),
                                     cap=Decimal(settings.PROMOTION_MICRO_LIVE_CAP))


@transaction.atomic
def promote_intraday_candidate(cohort: Cohort, *, policy: PromotionPolicy | None = None) -> list[PromotionCandidate]:
    """Weighs every agent of a completed cohort: one candidate row (rank, score, allocation, eligibility) and
    its checks each, and one `candidates` log row. A cohort already weighed returns its rows unchanged;
    a cohort not completed is refused. Returns the candidates by rank."""
    cohort = Cohort.objects.select_for_update(of=("self",)).select_related("wallet").get(pk=cohort.pk)
    if cohort.status != CohortStatus.COMPLETED:
        raise ApplicationError(f"Only a completed cohort can be weighed for promotion; cohort {cohort.pk} is "
                               f"{cohort.get_status_display().lower()}.", field="cohort")
    existing = list(PromotionCandidate.objects.filter(cohort=cohort).order_by("rank"))
    if existing:
        return existing
    policy = policy or promotion_policy_default()
    guards = promotion_guards(policy)
    allocation = allocation_for(cohort.wallet.bankroll)
    gathered = cohort_evidence(cohort, allocation=allocation)
    agents = gathered.agents
    scores, ranks = engine.rank_scores([a.roi or 0.0 for a in agents], [a.sharpe or 0.0 for a in agents])
    minimum = Decimal(settings.PROMOTION_ALLOCATION_MIN)
    checks = [engine.evaluate_checks(e, guards, minimum_allocation=minimum) for e in gathered.evidence]
    candidates = PromotionCandidate.objects.bulk_create(
        PromotionCandidate(cohort=cohort, agent=agent, campaign_day=gathered.campaign_day, policy=policy,
                           guards=guards, rank=int(ranks[i]), score=float(scores[i]), family=agent.family,
                           params=agent.params, allocation=allocation, is_eligible=all(c.passed for c in checks[i]))
        for i, agent in enumerate(agents))
    GuardCheck.objects.bulk_create(
        GuardCheck(candidate=candidate, kind=c.kind, name=c.name, value=c.value, threshold=c.threshold,
                   comparison=c.comparison, passed=c.passed, detail=c.detail)
        for candidate, rows in zip(candidates, checks, strict=True) for c in rows)
    eligible = [c for c in candidates if c.is_eligible]
    best = min(eligible, key=lambda c: c.rank, default=None)
    PromotionLog.objects.create(
        kind=LogKind.CANDIDATES, cohort=cohort,
        message=f"Cohort {cohort.pk}: {len(candidates)} agents weighed, {len(eligible)} eligible"
                + (f"; best agent {best.agent.index} ({best.family}), rank {best.rank}." if best else "."),
        data={"candidates": len(candidates), "eligible": len(eligible), "policy": policy.name if policy else None,
              "best_agent": best.agent.index if best else None, "allocation": str(allocation), "guards": guards})
    return sorted(candidates, key=lambda c: c.rank)


def candidate_best(cohort: Cohort) -> PromotionCandidate | None:
    """The best-ranked eligible candidate of a weighed cohort; None if none is eligible or it was not weighed."""
    return (PromotionCandidate.objects.filter(cohort=cohort, is_eligible=True).select_related("agent")
            .order_by("rank").first())


def candidate_weighed(*, cohort_id: int, agent_index: int) -> PromotionCandidate:
    """Agent `agent_index` of cohort `cohort_id` as a candidate, weighing the cohort first if nobody has: what a
    request by hand starts from. Refuses a cohort that does not exist or has not completed."""
    from promotions.selectors.requests import candidate_for

    cohort = Cohort.objects.filter(pk=cohort_id).first()
    if cohort is None:
        raise ApplicationError(f"There is no cohort {cohort_id}.", field="cohort")
    promote_intraday_candidate(cohort)
    return candidate_for(cohort_id, agent_index)
