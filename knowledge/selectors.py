"""Reads for learning and campaigns: engine markets, cohort populations, campaign reports, the knowledge list."""
from __future__ import annotations

from datetime import datetime

import numpy as np
from django.db.models import Prefetch, Q, QuerySet
from django.shortcuts import get_object_or_404

from cohorts import engine
from cohorts.models import Cohort
from cohorts.selectors.cohorts import agent_genome
from cohorts.selectors.market import bar_window
from knowledge.models import Campaign, CampaignDay, CycleKind, KnowledgeEntry, LearningCycle
from neolight.money import to_cents


def learning_market(*, symbols: list[str], start: datetime, end: datetime) -> engine.Market | None:
    """The bars of [start, end) as an engine market, or None when fewer than two bars are stored."""
    window = bar_window(symbols=symbols, start=start, end=end)
    if window.shape[0] < 2:
        return None
    return window.market()


def cohort_population(cohort: Cohort) -> tuple[list[engine.Genome], list[np.ndarray], list[bool]]:
    """A cohort's genomes in agent order, each agent's hourly returns, and its short-horizon flag."""
    agents = list(cohort.agents.order_by("index").prefetch_related("hours"))
    returns = [np.array([h.roi for h in agent.hours.all()], dtype=np.float64) for agent in agents]
    return [agent_genome(a) for a in agents], returns, [a.is_short_horizon for a in agents]


def genomes_from_json(rows: list[dict]) -> list[engine.Genome]:
    return [engine.Genome(r["family"], r["params"], r["side"]) for r in rows]


def campaign_visible(user) -> QuerySet[Campaign]:
    """Campaigns `user` may see: all with the view permission, else the ones they started."""
    campaigns = Campaign.objects.select_related("created_by")
    return campaigns if user.has_perm("knowledge.view_campaign") else campaigns.filter(created_by=user)


def campaign_get(*, user, campaign_id: int) -> Campaign:
    return get_object_or_404(campaign_visible(user), pk=campaign_id)


def campaign_latest_day(campaign: Campaign) -> CampaignDay | None:
    return campaign.campaign_days.select_related("cohort").order_by("-number").first()


def cycle_daily(campaign: Campaign, day: CampaignDay) -> LearningCycle | None:
    return LearningCycle.objects.filter(campaign=campaign, kind=CycleKind.DAILY, day_number=day.number).first()


def campaign_report(campaign: Campaign) -> dict:
    """The campaign and its days, JSON-ready: per day the cohort, its result, best agent and the cycle after it."""
    days = (campaign.campaign_days.select_related("cohort__wallet").order_by("number"))
    cycles = {c.day_number: c for c in campaign.cycles.filter(kind=CycleKind.DAILY)}
    rows = [_day_row(d, cycles.get(d.number)) for d in days]
    final = rows[-1]["final_equity"] if rows and rows[-1]["final_equity"] else None
    return {
        "campaign": campaign.pk, "status": campaign.status, "reason": campaign.status_reason, "mode": campaign.mode,
        "bankroll": str(to_cents(campaign.bankroll)), "days": campaign.days,
        "start": campaign.start_date.isoformat(), "policy": campaign.policy, "symbols": campaign.symbols,
        "agents": campaign.agents, "lookback_hours": campaign.lookback_hours, "trials_per_family": campaign.trials,
        "final_equity": final,
        "roi": (float(final) / float(campaign.bankroll) - 1.0) if final else None,
        "day_results": rows,
    }


def _day_row(day: CampaignDay, cycle: LearningCycle | None) -> dict:
    cohort = day.cohort
    leaders = (cohort.summary or {}).get("leaderboard") or []
    return {
        "day": day.number, "date": day.date.isoformat(), "cohort": cohort.pk, "status": cohort.status,
        "bankroll": str(to_cents(cohort.wallet.bankroll)),
        "final_equity": str(to_cents(cohort.final_equity)) if cohort.final_equity is not None else None,
        "roi": cohort.roi, "roi_percent": round(cohort.roi * 100, 3) if cohort.roi is not None else None,
        "best_agent": leaders[0] if leaders else None,
        "allocation": cohort.compliance_notes.splitlines()[-1] if cohort.compliance_notes else "",
        "cycle": _cycle_row(cycle) if cycle else None,
    }


def _cycle_row(cycle: LearningCycle) -> dict:
    return {
        "id": cycle.pk, "status": cycle.status, "in_sample": cycle.in_sample_score,
        "out_of_sample": cycle.out_of_sample_score, "runtime_seconds": cycle.runtime_seconds,
        "trials": sum(len(f.get("trials", [])) for f in cycle.families),
        "adopted": [f["family"] for f in cycle.families if f.get("is_adopted")],
        "replaced": sum(1 for c in cycle.changes if c["action"] in ("child", "immigrant")),
    }


def campaign_days_with_cycles(campaign: Campaign) -> list[dict]:
    """The campaign page's day-by-day rows (the same as the report's)."""
    return campaign_report(campaign)["day_results"]


def cycle_list(*, user, campaign: Campaign | None = None, kind: str | None = None) -> QuerySet[LearningCycle]:
    cycles = LearningCycle.objects.filter(campaign__in=campaign_visible(user)).select_related("campaign")
    if campaign is not None:
        cycles = cycles.filter(campaign=campaign)
    if kind:
        cycles = cycles.filter(kind=kind)
    return cycles.order_by("-started_at", "-id")


def entry_list(*, user, campaign_id: int | None = None) -> QuerySet[KnowledgeEntry]:
    """Knowledge entries `user` may see (their campaigns', and the desk-wide ones), newest first; one campaign's
    if `campaign_id` is given (the page narrows them further with `knowledge.filters.EntryFilter`)."""
    entries = KnowledgeEntry.objects.filter(Q(campaign__isnull=True) | Q(campaign__in=campaign_visible(user)))
    if campaign_id:
        entries = entries.filter(campaign_id=campaign_id)
    return entries.select_related("campaign", "cycle", "cohort").order_by("-created_at", "-id")


def campaign_list(*, user) -> QuerySet[Campaign]:
    return campaign_visible(user).prefetch_related(
        Prefetch("campaign_days", queryset=CampaignDay.objects.select_related("cohort").order_by("number")))
