"""Anomaly alerts: a cohort's or a deployment's figure far outside the history of the same figure.

The rule (a z-score). For a figure x and its history h (the same figure of the last RISK_ANOMALY_HISTORY peers
that ended before, default 20; at least RISK_ANOMALY_MIN_HISTORY of them, default 5, else no verdict):

    z = (x - mean(h)) / stdev(h)        (sample standard deviation; a history with no spread gives no verdict)

and |z| ≥ threshold (the anomaly rule's threshold, default 3) raises an "anomaly" alert keyed by the subject and
the figure ("cohort:12:return", "deployment:7:slippage").

The figures:
- return: a completed cohort's ROI; a running deployment's ROI so far (its live cohort's running figures;
  an ended deployment's is its cohort's ROI).
- fill_rate: trades per agent-hour — fills / (agents × hours of bars covered: the cohort's window, or a
  deployment's bars so far; a deployment with less than RISK_ANOMALY_MIN_HOURS is not judged yet).
- slippage (deployments only; a simulated cohort's slippage is its wallet's modelled constant): the mean, over
  its filled orders that carry the engine's price, of (filled average price − expected price) / expected price
  in basis points, sign turned for sells, so a positive figure is a cost.

Peers: for a cohort, the completed cohorts of the same mode (deployments' cohorts aside) that finished before
it; for a deployment, the deployments that ended last. When: a cohort is judged in the rules' minute once it has
completed (every cohort finished within RISK_ANOMALY_COHORT_LOOKBACK_MINUTES, an open alert standing for its
breach); its alert stands, as its figures no longer change. Running deployments are judged each minute and
their alert resolves when the figure comes back within the threshold.
"""
from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db.models import Sum

from cohorts.models import Cohort, CohortStatus, Fill
from cohorts.selectors.cohorts import cohort_running_figures
from promotions.models import DEPLOYMENT_ENDED, Deployment, DeploymentOrder, DeploymentStatus
from risk.models import AlertKind
from risk.services.alert_rules import alert_threshold
from risk.services.alerts import alert_raise, alert_resolve

FIGURES = {"return": "return", "fill_rate": "fill rate", "slippage": "slippage"}
Figures = dict[str, float | None]


def zscore(value: float, history: Sequence[float | None]) -> float | None:
    """How many sample standard deviations `value` lies from the mean of `history` (its finite values); None with
    fewer than RISK_ANOMALY_MIN_HISTORY of them or no spread."""
    values = [h for h in history if h is not None and math.isfinite(h)]
    if len(values) < max(2, settings.RISK_ANOMALY_MIN_HISTORY):
        return None
    spread = statistics.stdev(values)
    return None if spread == 0 else (value - statistics.fmean(values)) / spread


def _shown(figure: str, value: float) -> str:
    if figure == "return":
        return f"{value:.2%}"
    return f"{value:.2f} bps" if figure == "slippage" else f"{value:.3f} trades per agent-hour"


def _judge(subject: str, key: str, figures: Figures, history: list[Figures], threshold: float, **extra) -> dict:
    """Raises the anomaly alert of each figure whose |z| ≥ threshold; the keys found anomalous and found normal."""
    found: dict[str, list[str]] = {"raised": [], "anomalous": [], "normal": []}
    for figure, value in figures.items():
        if value is None or not math.isfinite(value):
            continue
        past = [h[figure] for h in history if h.get(figure) is not None]
        z = zscore(value, past)
        if z is None:
            continue
        name = f"{key}:{figure}"
        if abs(z) < threshold:
            found["normal"].append(name)
            continue
        found["anomalous"].append(name)
        mean, spread = statistics.fmean(past), statistics.stdev(past)
        message = (f"{subject}: {FIGURES[figure]} {_shown(figure, value)} far outside its history (z = {z:+.1f} over "
                   f"{len(past)} values: mean {_shown(figure, mean)}, sd {_shown(figure, spread)})")
        data = {"figure": figure, "value": value, "z": round(z, 4), "mean": mean, "sd": spread, "n": len(past)}
        if alert_raise(AlertKind.ANOMALY, name, message, data=data, **extra) is not None:
            found["raised"].append(f"{AlertKind.ANOMALY}:{name}")
    return found


def anomalies_check(*, now: datetime) -> dict[str, list[str]]:
    """Judges the cohorts completed lately and the running deployments; the alert keys raised and resolved."""
    threshold = alert_threshold(AlertKind.ANOMALY)
    outcome: dict[str, list[str]] = {"raised": [], "resolved": []}
    since = now - timedelta(minutes=settings.RISK_ANOMALY_COHORT_LOOKBACK_MINUTES)
    for cohort in _cohorts().filter(finished_at__gte=since).order_by("finished_at", "pk"):
        outcome["raised"] += cohort_anomalies(cohort, threshold=threshold)["raised"]
    history = [deployment_figures(d) for d in Deployment.objects.filter(status__in=DEPLOYMENT_ENDED, run__isnull=False)
               .select_related("run__cohort").order_by("-finished_at", "-pk")[:settings.RISK_ANOMALY_HISTORY]]
    for deployment in Deployment.objects.filter(status=DeploymentStatus.RUNNING, run__isnull=False).select_related(
            "run__cohort"):
        found = _judge(f"Deployment {deployment.pk}", f"deployment:{deployment.pk}", deployment_figures(deployment),
                       history, threshold, deployment=deployment, cohort=deployment.run.cohort)
        outcome["raised"] += found["raised"]
        for name in found["normal"]:
            outcome["resolved"] += [f"{AlertKind.ANOMALY}:{name}"] * alert_resolve(AlertKind.ANOMALY, name)
    return outcome


# --- cohorts -------------------------------------------------------------------------------------------
def _cohorts():
    """Completed cohorts that are not a deployment's, with their agents' trades summed."""
    return (Cohort.objects.filter(status=CohortStatus.COMPLETED, deployment_run__isnull=True, finished_at__isnull=False)
            .annotate(trades=Sum("agents__trades")))


def cohort_figures(cohort: Cohort) -> Figures:
    """A completed cohort's return and fill rate (its queryset row from `_cohorts()`: `trades` annotated)."""
    hours = (cohort.window_end - cohort.window_start).total_seconds() / 3600
    agents = cohort.agent_count
    rate = (cohort.trades or 0) / (agents * hours) if agents and hours > 0 else None
    return {"return": cohort.roi, "fill_rate": rate}


def cohort_anomalies(cohort: Cohort, *, threshold: float) -> dict[str, list[str]]:
    """Judges a completed cohort against the completed cohorts of its mode that finished before it."""
    cohort = _cohorts().get(pk=cohort.pk) if not hasattr(cohort, "trades") else cohort
    peers = (_cohorts().filter(mode=cohort.mode, finished_at__lt=cohort.finished_at).exclude(pk=cohort.pk)
             .order_by("-finished_at", "-pk")[:settings.RISK_ANOMALY_HISTORY])
    return _judge(f"Cohort {cohort.pk}", f"cohort:{cohort.pk}", cohort_figures(cohort),
                  [cohort_figures(peer) for peer in peers], threshold, cohort=cohort)


# --- deployments ---------------------------------------------------------------------------------------
def deployment_figures(deployment: Deployment) -> Figures:
    """A deployment's return so far, fill rate and mean slippage in bps (None where it has none yet)."""
    run = deployment.run
    cohort = run.cohort
    if deployment.status in DEPLOYMENT_ENDED:
        roi = cohort.roi
    else:
        roi = (cohort_running_figures(cohort) or {}).get("roi")
    hours = (run.bar_at - cohort.window_start).total_seconds() / 3600 if run.bar_at else 0.0
    rate = None
    if hours >= settings.RISK_ANOMALY_MIN_HOURS and cohort.agent_count:
        rate = Fill.objects.filter(cohort_id=cohort.pk).count() / (cohort.agent_count * hours)
    return {"return": roi, "fill_rate": rate, "slippage": deployment_slippage_bps(deployment)}


def deployment_slippage_bps(deployment: Deployment) -> float | None:
    """Mean slippage of the deployment's filled orders vs the engine's price, in bps (positive: a cost)."""
    orders = DeploymentOrder.objects.filter(deployment=deployment, fill_number__isnull=False, expected_price__gt=0,
                                            filled_avg_price__isnull=False, filled_qty__gt=0)
    costs = []
    for side, expected, filled in orders.values_list("side", "expected_price", "filled_avg_price"):
        bps = (Decimal(filled) - Decimal(expected)) / Decimal(expected) * 10_000
        costs.append(float(-bps if side == "sell" else bps))
    return statistics.fmean(costs) if costs else None
