"""Reads for learning and campaigns: engine markets, cohort populations, campaign reports, the knowledge list."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import numpy as np
from django.db.models import Count, OuterRef, Q, QuerySet, Subquery
from django.shortcuts import get_object_or_404

from cohorts import engine
from cohorts.models import Cohort, CohortStatus
from cohorts.selectors.cohorts import agent_genome, cohort_curves
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
    campaigns = Campaign.objects.select_related("created_by", "cancelled_by")
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


CYCLE_POPULATION = ("changes", "genomes", "weights")  # a cycle's large outputs, which its listings never show


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
    return entries.select_related("campaign").defer("data").order_by("-created_at", "-id")


def campaign_list(*, user) -> QuerySet[Campaign]:
    """Campaigns `user` may see, newest first, each with `days_done` (days whose cohort finished) and
    `latest_equity` (the last finished day's final equity, or None)."""
    finished = CampaignDay.objects.filter(campaign=OuterRef("pk"), cohort__final_equity__isnull=False)
    return campaign_visible(user).annotate(
        days_done=Count("campaign_days", filter=Q(campaign_days__cohort__final_equity__isnull=False)),
        latest_equity=Subquery(finished.order_by("-number").values("cohort__final_equity")[:1]))


CURVE_POINTS_PER_DAY = 240  # the campaign chart draws each day's parent equity with at most this many points


def campaign_trading_cohort(*, campaign_id: int) -> int | None:
    """The id of the campaign's latest day's cohort while it is pending or running, else None."""
    return (CampaignDay.objects.filter(campaign=campaign_id, cohort__status__in=[CohortStatus.PENDING, CohortStatus.RUNNING])
            .order_by("-number").values_list("cohort", flat=True).first())


def campaign_page(*, user, campaign: Campaign) -> dict:
    """The campaign page's reads (its view and its live updates render the same): the campaign, a
    headline, day rows, chart data, its cycles and entries, and whether `user` may cancel or re-run."""
    report = campaign_report(campaign)
    days = report["day_results"]
    finished = [d for d in days if d["final_equity"]]
    latest = Decimal(finished[-1]["final_equity"]) if finished else None
    return {
        "campaign": campaign, "days": days,
        "headline": {"bankroll": to_cents(campaign.bankroll), "latest_equity": latest, "roi": report["roi"],
                     "days_done": len(finished), "days_planned": campaign.days,
                     "progress": round(100 * len(finished) / campaign.days), "stage": _stage(campaign, days),
                     "trading_cohort": days[-1]["cohort"] if days and days[-1]["status"] == "running" else None},
        "chart": campaign_chart_data(campaign, days),
        "cycles": list(cycle_list(user=user, campaign=campaign).defer(*CYCLE_POPULATION)),
        "entries": list(entry_list(user=user, campaign_id=campaign.pk)[:200]),
        "can_start": user.has_perm("knowledge.add_campaign"),
    }


def _stage(campaign: Campaign, days: list[dict]) -> str:
    """What a running campaign is doing now, in words."""
    if not days:
        return "Launching day 1…"
    last = days[-1]
    if last["status"] == "pending":
        return f"Day {last['day']} launched; it trades next."
    if last["status"] == "running":
        return f"Day {last['day']} is trading…"
    if not last["cycle"] or last["cycle"]["status"] != "completed":
        return f"Learning from day {last['day']}…"
    return f"Launching day {last['day'] + 1}…" if last["day"] < campaign.days else "Finishing…"


def campaign_chart_data(campaign: Campaign, days: list[dict]) -> dict:
    """Equity across the days (epoch ms; each day's parent curve thinned), where each day begins, each
    day's ROI (%) and each daily cycle's in-sample and out-of-sample scores, JSON-ready."""
    cohorts = {c.pk: c for c in Cohort.objects.filter(pk__in=[d["cohort"] for d in days]).only("id", "window_start")}
    stamps, equity, boundaries = [], [], []
    for d in days:
        cohort = cohorts[d["cohort"]]
        boundaries.append({"t": int(cohort.window_start.timestamp() * 1000), "label": f"Day {d['day']}"})
        curves = cohort_curves(cohort) if d["final_equity"] else None
        if curves is None:
            continue
        step = max(1, -(-len(curves["parent"]) // CURVE_POINTS_PER_DAY))
        keep = np.unique(np.r_[np.arange(0, len(curves["parent"]), step), len(curves["parent"]) - 1])
        stamps += (curves["timestamps"][keep] * 1000).tolist()
        equity += np.round(curves["parent"][keep], 2).tolist()
    return {
        "t": stamps, "equity": equity, "boundaries": boundaries,
        "days": [{"label": f"Day {d['day']}", "roi": d["roi_percent"]} for d in days if d["roi_percent"] is not None],
        "cycles": [{"label": f"After day {d['day']}", "in_sample": d["cycle"]["in_sample"],
                    "out_of_sample": d["cycle"]["out_of_sample"]}
                   for d in days if d["cycle"] and d["cycle"]["status"] == "completed"],
    }


def knowledge_live(*, user) -> dict:
    """The knowledge page's live parts (its view and its live updates render the same): the latest
    campaigns with their days, the latest cycles, and whether `user` may start a campaign."""
    return {"campaigns": list(campaign_list(user=user)[:50]),
            "cycles": list(cycle_list(user=user).defer("families", *CYCLE_POPULATION)[:20]),
            "can_start": user.has_perm("knowledge.add_campaign")}

