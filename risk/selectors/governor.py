"""The capital governor: current and proposed allocations per agent of a cohort and per running deployment.

Proposals come from `risk.engine.portfolio.governor_weights`: performance-weighted (Sharpe, only when Sharpe and
ROI are both positive), volatility-scaled (÷ the standard deviation of 1-minute returns), correlation-aware
(components whose returns correlate above RISK_GOVERNOR_MAX_CORRELATION share one cap of RISK_GOVERNOR_GROUP_CAP of
the total; a lone component has the same cap), and bounded by the money there is: a cohort's parent wallet, the
deployments' current capital (never more than their bankrolls hold). What no one may take stays in cash. Amounts are
split in cents by the largest remainder, so the proposals and the cash add up exactly to the total.
"""
from __future__ import annotations

import math
from decimal import Decimal

import numpy as np
import pandas as pd
from django.conf import settings

from cohorts.engine.metrics import returns as bar_returns
from cohorts.models import Cohort, CohortStatus
from cohorts.selectors.cohorts import cohort_visible
from cohorts.selectors.market import symbols_minutes_per_year
from neolight import formats
from neolight.errors import ApplicationError
from neolight.money import CENT, to_cents
from promotions.models import Deployment, DeploymentStatus
from risk.engine.portfolio import GovernorWeights, governor_weights
from risk.models import DecisionStatus, RolloutStep
from risk.selectors.var import RiskNotFound, bankroll_value, cohort_equity


def governor_allocations(*, user, cohort_id: int | None = None) -> dict:
    """The agents of `cohort_id` (else the latest completed cohort `user` may see) and the running deployments
    `user` may see, each with its current and proposed allocation and the reason, JSON-ready."""
    return {"max_correlation": settings.RISK_GOVERNOR_MAX_CORRELATION, "group_cap": settings.RISK_GOVERNOR_GROUP_CAP,
            "cohort": cohort_allocation(_governed_cohort(user, cohort_id)),
            "deployments": deployment_allocation(_governed_deployments(user))}


def _governed_cohort(user, cohort_id: int | None) -> Cohort | None:
    visible = cohort_visible(user)
    if cohort_id is None:
        return visible.filter(status=CohortStatus.COMPLETED, deployment_run__isnull=True).order_by(
            "-finished_at", "-id").first()
    cohort = visible.filter(pk=cohort_id).first()
    if cohort is None:  # as the cohorts API: a cohort one may not see is one that is not there
        raise RiskNotFound(f"There is no cohort {cohort_id} you may see.", field="cohort")
    if cohort.status != CohortStatus.COMPLETED:
        raise ApplicationError(f"Cohort {cohort_id} is {cohort.status}: the governor weighs completed cohorts.",
                               field="cohort")
    return cohort


def _governed_deployments(user) -> list[Deployment]:
    running = Deployment.objects.filter(status=DeploymentStatus.RUNNING).select_related("run__cohort__wallet",
                                                                                         "bankroll").order_by("id")
    if user.has_perm("cohorts.view_cohort"):
        return list(running)
    return list(running.filter(run__cohort__in=cohort_visible(user)))


# --- a cohort's agents -----------------------------------------------------------------------------------
def cohort_allocation(cohort: Cohort | None) -> dict | None:
    """Per agent of a completed cohort: its capital and its share of the same wallet as proposed."""
    if cohort is None:
        return None
    agents = list(cohort.agents.order_by("index"))
    equity = cohort_equity(cohort, book=False)
    total = to_cents(cohort.wallet.bankroll)
    returns = (bar_returns(equity.agents, equity.capital).T if equity is not None
               else np.zeros((0, len(agents))))
    sharpe = np.array([a.sharpe if a.sharpe is not None else np.nan for a in agents], dtype=float)
    roi = np.array([a.roi if a.roi is not None else np.nan for a in agents], dtype=float)
    weights = governor_weights(returns, sharpe, roi, max_correlation=settings.RISK_GOVERNOR_MAX_CORRELATION,
                               group_cap=settings.RISK_GOVERNOR_GROUP_CAP)
    names = [f"agent {a.index}" for a in agents]
    proposed, cash = split_cents(total, weights.weights)
    rows = [{"agent": a.index, "family": a.family, "current": str(to_cents(a.capital)), "proposed": str(p),
             "sharpe": _finite(sharpe[i]), "roi": _finite(roi[i]), "volatility": _finite(weights.volatility[i]),
             "group": [agents[j].index for j in _group_of(weights, i)],
             "reason": allocation_reason(i, names, weights, sharpe[i], roi[i], p)}
            for i, (a, p) in enumerate(zip(agents, proposed, strict=True))]
    return {"id": cohort.pk, "label": f"Cohort {cohort.pk}", "total": str(total), "cash": str(cash), "agents": rows,
            "explanation": "" if equity is not None else "The cohort has no stored curves: nothing to weigh."}


# --- running deployments ---------------------------------------------------------------------------------
def deployment_allocation(deployments: list[Deployment]) -> dict:
    """Per running deployment: its current capital and its share of their total as proposed."""
    if not deployments:
        return {"total": "0.00", "cash": "0.00", "items": [],
                "explanation": "No deployment is running: the governor weighs running deployments."}
    current = [_current_capital(d) for d in deployments]
    bankrolls = {d.bankroll_id: d.bankroll for d in deployments}
    ceiling = sum((bankroll_value(b) for b in bankrolls.values()), Decimal(0))
    total = to_cents(min(sum(current, Decimal(0)), ceiling) if ceiling > 0 else sum(current, Decimal(0)))
    frames, sharpe, roi = [], [], []
    for d in deployments:
        equity = cohort_equity(d.run.cohort, book=False) if getattr(d, "run", None) else None
        if equity is None or equity.parent.size == 0:
            frames.append(pd.Series(dtype=float, name=d.pk))
            sharpe.append(np.nan)
            roi.append(np.nan)
            continue
        r = bar_returns(equity.parent[None, :], np.array([equity.bankroll]))[0]
        frames.append(pd.Series(r, index=equity.timestamps, name=d.pk))
        deviation = r.std(ddof=1) if r.size > 1 else 0.0
        per_year = math.sqrt(symbols_minutes_per_year(d.symbols))
        sharpe.append(float(r.mean() / deviation * per_year) if deviation > 0 else np.nan)
        roi.append(float(equity.parent[-1] / equity.bankroll - 1))
    returns = pd.concat(frames, axis=1).sort_index().fillna(0.0).to_numpy() if frames else np.zeros((0, 0))
    weights = governor_weights(returns.reshape(-1, len(deployments)), np.array(sharpe), np.array(roi),
                               max_correlation=settings.RISK_GOVERNOR_MAX_CORRELATION,
                               group_cap=settings.RISK_GOVERNOR_GROUP_CAP)
    names = [f"deployment {d.pk}" for d in deployments]
    proposed, cash = split_cents(total, weights.weights)
    items = [{"deployment": d.pk, "family": d.family, "mode": d.trading_mode, "current": str(to_cents(c)),
              "proposed": str(p), "sharpe": _finite(sharpe[i]), "roi": _finite(roi[i]),
              "volatility": _finite(weights.volatility[i]), "group": [deployments[j].pk for j in _group_of(weights, i)],
              "reason": allocation_reason(i, names, weights, sharpe[i], roi[i], p)}
             for i, (d, c, p) in enumerate(zip(deployments, current, proposed, strict=True))]
    return {"total": str(total), "cash": str(cash), "items": items, "explanation": ""}


def _current_capital(deployment: Deployment) -> Decimal:
    """The latest applied rollout step's capital, else the approved allocation."""
    step = (RolloutStep.objects.filter(deployment=deployment, status=DecisionStatus.APPLIED)
            .order_by("-created_at", "-id").values_list("to_capital", flat=True).first())
    return step if step is not None else deployment.capital


# --- amounts and words -----------------------------------------------------------------------------------
def split_cents(total: Decimal, weights: np.ndarray) -> tuple[list[Decimal], Decimal]:
    """`total` split by `weights` (their sum at most 1; the rest is cash) in whole cents, by the largest remainder:
    the parts and the cash add up exactly to `total` (rounded to cents)."""
    cents = int(to_cents(total) / CENT)
    shares = [max(0.0, float(w)) for w in weights]
    shares.append(max(0.0, 1.0 - math.fsum(shares)))
    exact = [s / math.fsum(shares) * cents for s in shares] if math.fsum(shares) > 0 else [0.0] * len(shares)
    whole = [math.floor(x) for x in exact]
    for k in sorted(range(len(exact)), key=lambda k: (whole[k] - exact[k], k))[: cents - sum(whole)]:
        whole[k] += 1
    parts = [Decimal(c) * CENT for c in whole]
    return parts[:-1], parts[-1]


def allocation_reason(i: int, names: list[str], weights: GovernorWeights, sharpe: float, roi: float,
                      amount: Decimal) -> str:
    """Why component `i` gets what it gets, in words."""
    figures = f"Sharpe {formats.number(_finite(sharpe))}, ROI {formats.signed_percent(_finite(roi))}"
    if weights.raw[i] <= 0:
        if not weights.volatility[i] > 0:
            return f"{figures}; it did not move (no volatility to scale by): nothing proposed."
        return f"{figures}: no allocation until both are positive."
    volatility = formats.percent(weights.volatility[i], 3)
    reason = (f"{figures}, volatility {volatility} a minute: {formats.percent(weights.weights[i], 1)} of the total "
              f"({formats.money(amount)}), weighted by Sharpe ÷ volatility")
    group = _group_of(weights, i)
    which = next(k for k, g in enumerate(weights.groups) if i in g)
    if len(group) > 1:
        others = ", ".join(names[j] for j in group if j != i)
        reason += (f"; shares one {formats.percent(settings.RISK_GOVERNOR_GROUP_CAP, 0)} cap with {others} (returns "
                   f"correlated above {settings.RISK_GOVERNOR_MAX_CORRELATION:g})")
    if which in weights.capped:
        reason += f"; capped at {formats.percent(settings.RISK_GOVERNOR_GROUP_CAP, 0)} of the total"
    return reason + "."


def _group_of(weights: GovernorWeights, i: int) -> tuple[int, ...]:
    return next(g for g in weights.groups if i in g)


def _finite(value) -> float | None:
    return float(value) if value is not None and np.isfinite(value) else None
