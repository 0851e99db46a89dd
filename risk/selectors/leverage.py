"""Reads of the leverage ladder: the ladder that applies, a subject's current tier, the return series the ladder
reads for each kind of subject, what is due for evaluation, and the decision log.

Return series (oldest first; see risk/services/leverage.py for how often each is evaluated):
- cohort: its parent equity curve (`CohortResult.equity_curves`) at the last bar of each clock hour, the first
  hour against the wallet's bankroll;
- campaign: one return per completed campaign day up to the day evaluated, final equity over the day's bankroll;
- deployment: the live cohort's parent equity sampled at each evaluation (stored in each decision's inputs as
  `equity`; the scheduled evaluations come every RISK_LEVERAGE_DEPLOYMENT_MINUTES), the first against its capital;
- bankroll: one return per whole UTC day on which its cohorts' capital came back, the day's settled gain over the
  capital those cohorts drew.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

import numpy as np
from django.conf import settings
from django.db.models import Exists, OuterRef, QuerySet, Sum
from django.db.models.functions import Coalesce, TruncDate

from cohorts import calendars, curves
from cohorts.models import Bankroll, Cohort, CohortSettlement, CohortStatus, Instrument, SettlementKind
from cohorts.selectors.cohorts import cohort_running_figures
from cohorts.selectors.market import canonical_symbols
from knowledge.models import Campaign, CampaignDay
from neolight.errors import ApplicationError
from promotions.models import Deployment, DeploymentStatus
from risk.models import DecisionStatus, LeverageDecision, LeverageLadder

SUBJECTS = ("bankroll", "cohort", "campaign", "deployment")
MINUTES_24_7 = 365.0 * 1440.0


def ladder_default() -> LeverageLadder:
    """The default ladder; an unsaved one with the documented defaults (2× start, +1×, cap 10×) while none is kept."""
    return LeverageLadder.objects.filter(is_default=True).first() or LeverageLadder(name="default", is_default=True)


def current_tier(**subject) -> Decimal:
    """The subject's tier (one keyword of bankroll, cohort, campaign, deployment: a row or its id): the `to_tier` of
    its latest applied decision (by when it took effect), else the default ladder's start."""
    (kind, value), = subject.items()
    if kind not in SUBJECTS:
        raise TypeError(f"current_tier() takes one of {', '.join(SUBJECTS)}, not {kind!r}")
    latest = (LeverageDecision.objects.filter(subject_kind=kind, status=DecisionStatus.APPLIED,
                                              **{f"{kind}_id": getattr(value, "pk", value)})
              .order_by(Coalesce("applied_at", "created_at").desc(), "-id").values_list("to_tier", flat=True).first())
    return latest if latest is not None else Decimal(ladder_default().start)


def decisions_of(kind: str, subject_id: int) -> QuerySet[LeverageDecision]:
    """A subject's decisions, newest first."""
    return (LeverageDecision.objects.filter(subject_kind=kind, **{f"{kind}_id": subject_id})
            .select_related("ladder", "actor").order_by("-created_at", "-id"))


def decisions_all() -> QuerySet[LeverageDecision]:
    """Every subject's decisions, newest first."""
    return LeverageDecision.objects.select_related("ladder", "actor").order_by("-created_at", "-id")


def awaiting_decision(deployment_id: int) -> LeverageDecision | None:
    """The deployment's step up that waits for the approval chain, if any."""
    return (LeverageDecision.objects.filter(deployment_id=deployment_id, status=DecisionStatus.AWAITING_APPROVAL)
            .order_by("-created_at", "-id").first())


def house_bankroll() -> Bankroll | None:
    return Bankroll.objects.filter(name=settings.HOUSE_BANKROLL_NAME).first()


# --- how often a year each series' observations come -------------------------------------------------------

def minutes_per_year(symbols) -> float:
    """Trading minutes per year of the symbols' markets (525,600 as soon as one trades 24/7; 252 × 390 for XNYS
    regular alone); 24/7 for symbols the database does not know."""
    known = Instrument.objects.filter(symbol__in=canonical_symbols(symbols)).values_list("calendar", "session")
    return max((calendars.minutes_per_year(c, s) for c, s in known), default=MINUTES_24_7)


def days_per_year(symbols) -> float:
    """Trading days per year: 365 for a market open every day, else an exchange's 252."""
    return 365.0 if minutes_per_year(symbols) >= MINUTES_24_7 else float(calendars.TRADING_DAYS_PER_YEAR)


# --- the series -------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Series:
    """Per-observation returns (oldest first), how many such observations make a year, and what they were read
    from (stored in the decision's inputs)."""

    returns: np.ndarray
    periods_per_year: float
    notes: dict


def cohort_series(cohort: Cohort) -> Series | None:
    """A completed cohort's hourly parent returns; None while it has no stored curves."""
    blob = Cohort.objects.filter(pk=cohort.pk).values_list("result__equity_curves", flat=True).first()
    if not blob:
        return None
    stored = curves.unpack(bytes(blob))
    hours = stored["timestamps"] // 3600
    ends = np.flatnonzero(np.append(np.diff(hours) != 0, True)) if hours.size else np.array([], dtype=np.int64)
    equity = np.concatenate(([float(cohort.wallet.bankroll)], stored["parent"][ends]))
    return Series(_returns(equity), minutes_per_year(cohort.symbols) / 60.0, {"hours": int(ends.size)})


def campaign_day_due(campaign_id: int) -> CampaignDay | None:
    """The campaign's first completed day after the last one evaluated, or None."""
    last = _last_key(LeverageDecision.objects.filter(campaign_id=campaign_id))
    days = CampaignDay.objects.filter(campaign_id=campaign_id, cohort__status=CohortStatus.COMPLETED,
                                      cohort__final_equity__isnull=False)
    if last is not None:
        days = days.filter(number__gt=int(last))
    return days.select_related("campaign").order_by("number").first()


def campaign_series(day: CampaignDay) -> Series:
    """One return per completed day of the campaign up to `day`: final equity over the day's bankroll."""
    rows = (CampaignDay.objects.filter(campaign_id=day.campaign_id, number__lte=day.number,
                                       cohort__status=CohortStatus.COMPLETED, cohort__final_equity__isnull=False)
            .order_by("number").values_list("number", "cohort__final_equity", "cohort__wallet__bankroll"))
    returns = np.array([float(final / start - 1) for _, final, start in rows], dtype=np.float64)
    return Series(returns, days_per_year(day.campaign.symbols), {"day": day.number, "cohort": day.cohort_id})


def deployment_equity(deployment: Deployment) -> Decimal:
    """The live cohort's parent equity now: its running figures, its final equity once completed, else its capital."""
    cohort = deployment.run.cohort
    figures = cohort_running_figures(cohort)
    if figures is not None:
        return Decimal(figures["equity"])
    if cohort.status == CohortStatus.COMPLETED and cohort.final_equity is not None:
        return cohort.final_equity
    return cohort.wallet.bankroll


def deployment_series(deployment: Deployment, equity_now: Decimal) -> Series:
    """Returns between the equity samples of the deployment's earlier evaluations and `equity_now`, the first
    against its capital; a year is the markets' trading minutes over the scheduled evaluations' spacing."""
    samples = [Decimal(inputs["equity"]) for inputs in LeverageDecision.objects.filter(deployment=deployment)
               .order_by("created_at", "id").values_list("inputs", flat=True) if "equity" in (inputs or {})]
    equity = np.array([float(deployment.run.cohort.wallet.bankroll), *map(float, samples), float(equity_now)])
    minutes = max(1, settings.RISK_LEVERAGE_DEPLOYMENT_MINUTES)
    return Series(_returns(equity), minutes_per_year(deployment.symbols) / minutes,
                  {"equity": str(equity_now), "samples": len(samples) + 1})


def bankroll_day_due(bankroll_id: int, today: date) -> date | None:
    """The bankroll's first whole UTC day (before `today`) with settled cohort returns after the last evaluated."""
    last = _last_key(LeverageDecision.objects.filter(bankroll_id=bankroll_id))
    days = _settled_days(bankroll_id).filter(day__lt=today)
    if last is not None:
        days = days.filter(day__gt=date.fromisoformat(last))
    return days.order_by("day").values_list("day", flat=True).first()


def bankroll_series(bankroll_id: int, day: date) -> Series:
    """One return per settlement day up to `day`: the day's settled gain over the capital its cohorts drew."""
    rows = _settled_days(bankroll_id).filter(day__lte=day).order_by("day").values_list("drawn", "settled")
    returns = np.array([float(settled / drawn - 1) for drawn, settled in rows if drawn], dtype=np.float64)
    return Series(returns, 365.0, {"day": day.isoformat()})


def _settled_days(bankroll_id: int):
    return (CohortSettlement.objects.filter(cohort__source_id=bankroll_id, kind=SettlementKind.RETURN)
            .annotate(day=TruncDate("created_at")).values("day")
            .annotate(drawn=Sum("drawn"), settled=Sum("settled")))


def _last_key(decisions) -> str | None:
    """The `day` in the inputs of the subject's latest decision (days are evaluated in order)."""
    inputs = decisions.order_by("-created_at", "-id").values_list("inputs", flat=True).first()
    day = (inputs or {}).get("day")
    return None if day is None else str(day)


def _returns(equity: np.ndarray) -> np.ndarray:
    """Simple returns between consecutive equity points (0 after a point at or below zero; never below -100%)."""
    equity = np.asarray(equity, dtype=np.float64)
    before = equity[:-1]
    returns = np.divide(equity[1:] - before, before, out=np.zeros(before.size), where=before > 0)
    return np.maximum(returns, -1.0)


# --- what the schedule evaluates --------------------------------------------------------------------------

def cohorts_due(limit: int) -> list[int]:
    """Completed cohorts with stored curves and no decision yet, the earliest finished first."""
    decided = LeverageDecision.objects.filter(cohort=OuterRef("pk"))
    return list(Cohort.objects.filter(status=CohortStatus.COMPLETED, result__isnull=False)
                .filter(~Exists(decided)).order_by("finished_at", "id").values_list("pk", flat=True)[:limit])


def campaigns_due(limit: int) -> list[int]:
    """Campaigns with a completed day not evaluated yet."""
    found = []
    for campaign_id in (CampaignDay.objects.filter(cohort__status=CohortStatus.COMPLETED)
                        .values_list("campaign_id", flat=True).distinct().order_by("campaign_id")):
        if campaign_day_due(campaign_id) is not None:
            found.append(campaign_id)
            if len(found) >= limit:
                break
    return found


def deployments_due(now: datetime, limit: int) -> list[int]:
    """Running or paused deployments with a live run whose last decision is older than the schedule's spacing."""
    since = now - timedelta(minutes=settings.RISK_LEVERAGE_DEPLOYMENT_MINUTES)
    recent = LeverageDecision.objects.filter(deployment=OuterRef("pk"), created_at__gt=since)
    return list(Deployment.objects.filter(status__in=[DeploymentStatus.RUNNING, DeploymentStatus.PAUSED],
                                          run__isnull=False).filter(~Exists(recent))
                .order_by("pk").values_list("pk", flat=True)[:limit])


def bankrolls_due(today: date, limit: int) -> list[int]:
    return [pk for pk in Bankroll.objects.order_by("pk").values_list("pk", flat=True)
            if bankroll_day_due(pk, today) is not None][:limit]



# --- what the risk page and the API show -------------------------------------------------------------------

class SubjectNotFound(ApplicationError):
    """No such subject (the API answers 404, naming the field)."""

    status_code = 404


SUBJECT_MODELS = {"bankroll": Bankroll, "cohort": Cohort, "campaign": Campaign, "deployment": Deployment}


def leverage_subject(kind: str, subject_id: int):
    """The subject row, or SubjectNotFound naming `kind`."""
    row = SUBJECT_MODELS[kind].objects.filter(pk=subject_id).first()
    if row is None:
        raise SubjectNotFound(f"There is no {kind} {subject_id}.", field=kind)
    return row


def ladder_triggers(ladder: LeverageLadder) -> dict[str, str]:
    """What moves a tier, in words."""
    return {"step_up": f"rolling Sharpe > {ladder.up_sharpe:.2f} and drawdown < {ladder.up_max_drawdown:.1%} "
                       f"over {ladder.window} observations",
            "step_down": f"drawdown ≥ {ladder.down_drawdown:.1%} or {ladder.down_consecutive_losses} losses in a row"}


def next_tier(ladder: LeverageLadder, current: Decimal) -> Decimal | None:
    """The tier a step up would reach; None at (or above) the cap."""
    return None if current >= ladder.cap else min(current + ladder.step_up, ladder.cap)
