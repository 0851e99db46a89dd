"""Reads of cohorts: visibility, lists, details, curves and summaries."""
from __future__ import annotations

from decimal import Decimal

import numpy as np
from django.conf import settings
from django.db.models import QuerySet, Sum
from django.shortcuts import get_object_or_404

from cohorts import curves, engine
from cohorts.models import (
    Account,
    Agent,
    Bankroll,
    Cohort,
    CohortCheckpoint,
    CohortMode,
    CohortResult,
    CohortStatus,
    Entry,
    Fill,
)
from cohorts.selectors.ledger import account_balances
from neolight.cached import Versioned
from neolight.money import to_cents


def agent_genome(agent: Agent) -> engine.Genome:
    """The engine genome an agent was launched with (its side is stored among its params)."""
    params = dict(agent.params)
    side = params.pop("side", "long")
    return engine.Genome(agent.family, params, side)


def cohort_brief(cohort: Cohort) -> dict:
    """The headline of a cohort run, JSON-ready (amounts as strings)."""
    summary = cohort.summary or {}
    return {
        "cohort": cohort.pk,
        "status": cohort.status,
        "reason": cohort.status_reason,
        "bankroll": str(cohort.wallet.bankroll),
        "policy": cohort.wallet.policy,
        "symbols": cohort.symbols,
        "window": [cohort.window_start.isoformat(), cohort.window_end.isoformat()],
        "agents": cohort.agent_count,
        "allocation": next((line for line in cohort.compliance_notes.splitlines() if line.startswith("Allocation:")), ""),
        "final_equity": str(to_cents(cohort.final_equity)) if cohort.final_equity is not None else None,
        "roi": cohort.roi,
        "max_drawdown": cohort.max_drawdown,
        "utilisation": None if cohort.utilisation is None else cohort.utilisation / 100,  # a fraction, like roi
        "breaches": cohort.breaches,
        "leaderboard": summary.get("leaderboard", []),
        "ledger_balanced": cohort.is_ledger_balanced,
        "reconciled": cohort.is_reconciled,
        "runtime_seconds": cohort.runtime_seconds,
    }


def cohort_visible(user) -> QuerySet[Cohort]:
    """Cohorts `user` may see: all with the view permission (ops, risk, staff), else the ones they launched."""
    cohorts = Cohort.objects.select_related("wallet", "source", "launched_by")
    if user.has_perm("cohorts.view_cohort"):
        return cohorts
    return cohorts.filter(launched_by=user)


def cohort_list(*, user) -> QuerySet[Cohort]:
    """Visible cohorts, newest first (interfaces narrow them with `cohorts.filters.CohortFilter`).

    Rows only: the summary stays unread and the large results live in CohortResult."""
    cohorts = cohort_visible(user).select_related(None).select_related("wallet").defer("summary")
    return cohorts.order_by("-created_at", "-id")


# What a row of the cohort list shows (templates/cohorts/_row.html): pages and live updates read no more.
LIST_ROW_FIELDS = ("status", "progress", "window_start", "window_end", "day_number", "agent_count", "roi",
                   "final_equity", "is_reconciled", "created_at", "wallet__bankroll")


def cohort_list_rows(*, user) -> QuerySet[Cohort]:
    """`cohort_list` narrowed to the columns the list's rows show."""
    return cohort_list(user=user).only(*LIST_ROW_FIELDS)


def cohort_get(*, user, cohort_id: int) -> Cohort:
    """One visible cohort without its summary (see `cohort_summary`), or Http404."""
    return get_object_or_404(cohort_visible(user).defer("summary"), pk=cohort_id)


def cohort_summary(cohort: Cohort) -> dict:
    """The whole summary of a completed cohort: the row's rollups and leaderboard with the large parts
    (correlation matrix, genomes) from its results; {} before the run ends."""
    summary = Cohort.objects.filter(pk=cohort.pk).values_list("summary", flat=True).get() or {}
    heavy = CohortResult.objects.filter(cohort=cohort.pk).values("correlation", "genomes").first()
    return {**summary, **heavy} if heavy else summary


def cohort_families(cohort: Cohort) -> list[str]:
    """Each agent's strategy family, in agent order."""
    return list(cohort.agents.order_by("index").values_list("family", flat=True))


def cohort_result(cohort: Cohort) -> CohortResult | None:
    """The cohort's curves and heat-map (not its genomes nor the correlations' JSON), or None before the run ends."""
    return CohortResult.objects.filter(cohort=cohort.pk).defer("genomes", "correlation").first()


def agent_get(*, cohort: Cohort, index: int) -> Agent:
    return get_object_or_404(Agent.objects.select_related("cohort"), cohort=cohort, index=index)


def agent_fills(agent: Agent) -> QuerySet[Fill]:
    return agent.fills.select_related("instrument").order_by("ts", "id")


def agent_entries(agent: Agent) -> QuerySet[Entry]:
    """Every ledger entry on the agent's accounts, oldest first."""
    return (Entry.objects.filter(account__agent=agent).select_related("account", "transaction")
            .order_by("transaction_id", "id"))


def cohort_curves(cohort: Cohort) -> dict[str, np.ndarray] | None:
    """The stored full-resolution curves: timestamps (epoch s), parent (T,), agents (A, T), exposure (A, T)."""
    blob = CohortResult.objects.filter(cohort=cohort.pk).values_list("equity_curves", flat=True).first()
    return result_curves(blob)


def result_curves(blob: bytes | memoryview | None) -> dict[str, np.ndarray] | None:
    """Stored curves unpacked (see `cohort_curves`), or None for none."""
    return curves.unpack(bytes(blob)) if blob else None


BADGE = Versioned("bankroll-badge", 300)  # every movement of a bankroll's cash expires it at once


def bankroll_badge() -> dict | None:
    """The house bankroll's available cash and what running cohorts hold, for the page header.

    Read through the cache: every posting that moves a bankroll's cash expires it (`bankroll_badge_expire`,
    at once and after commit), so every page's header costs one cache read instead of four queries."""
    return BADGE.get(_bankroll_badge)


def bankroll_badge_expire() -> None:
    """Makes the next header read the bankroll afresh."""
    BADGE.expire()


def _bankroll_badge() -> dict | None:
    bankroll = Bankroll.objects.filter(name=settings.HOUSE_BANKROLL_NAME).first()
    if bankroll is None:
        return None
    cash = Account.objects.filter(code=f"bankroll:{bankroll.pk}:cash").first()
    available = account_balances([cash.pk]).get(cash.pk, Decimal(0)) if cash else Decimal(0)
    at_work = Cohort.objects.filter(source=bankroll, status__in=[CohortStatus.PENDING, CohortStatus.RUNNING]).aggregate(
        total=Sum("wallet__bankroll"))["total"] or Decimal(0)
    return {"name": bankroll.name, "available": to_cents(available), "at_work": to_cents(at_work)}


LEADERBOARD_SORTS = {"roi": "-roi", "sharpe": "-sharpe", "drawdown": "max_drawdown", "trades": "-trades",
                     "confidence": "-confidence", "agent": "index"}


def cohort_leaderboard(cohort: Cohort, sort: str = "roi") -> QuerySet[Agent]:
    """The cohort's agents ordered by a leaderboard column (ROI by default)."""
    return cohort.agents.order_by(LEADERBOARD_SORTS.get(sort, "-roi"), "index")


LIVE_LEADERS_SHOWN = 3


def cohort_running_figures(cohort: Cohort) -> dict | None:
    """What a running live cohort's page shows before its next bar arrives, from the agents' running scores
    (written every COHORT_LIVE_SCORES_EVERY_BARS bars): the bar reached, fills so far, the parent's equity
    (its agents' equity plus the capital it did not allocate) and ROI, and the agents leading by ROI. None
    for any other cohort, or before the first scores are written."""
    if cohort.mode != CohortMode.LIVE or cohort.status != CohortStatus.RUNNING:
        return None
    checkpoint = CohortCheckpoint.objects.filter(cohort=cohort).only("bar", "fills").first()
    agents = list(cohort.agents.filter(final_equity__isnull=False).values("index", "roi", "final_equity", "capital"))
    if checkpoint is None or not agents:
        return None
    bankroll = cohort.wallet.bankroll
    equity = bankroll + sum(a["final_equity"] - a["capital"] for a in agents)
    leaders = sorted(agents, key=lambda a: (-(a["roi"] or 0.0), a["index"]))[:LIVE_LEADERS_SHOWN]
    return {"bar": checkpoint.bar, "fills": checkpoint.fills, "equity": to_cents(equity),
            "roi": float(equity / bankroll - 1), "leaders": [{"agent": a["index"], "roi": a["roi"]} for a in leaders]}
