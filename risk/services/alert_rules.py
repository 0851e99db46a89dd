"""The alert rules checked each minute (beat: `risk.tasks.alerts.alert_rules_check_task`), each raising its alert
once per breach and resolving it when the condition clears.

- parent_drawdown: a running live cohort's parent equity (its running figures: agents' equity plus the capital
  it did not allocate) has fallen below its capital by more than the threshold (default 0.05). The running
  figures carry no peak, so the drawdown is measured from the capital the cohort started with.
- leverage_breach: an agent of a running live cohort holds positions (at cost, from the ledger) of more than
  threshold × its limit times its equity; the limit is the lower of the leverage tier (of the deployment the
  cohort runs, else of the cohort) and the wallet's leverage ceiling.
- utilisation: the house bankroll's capital at work in cohorts / its whole (available + at work), the header's
  bankroll badge, above the threshold (default 0.9).
- beat_missed: an enabled scheduled job (django-celery-beat) whose last run is older than threshold (default 2)
  of its periods: that many runs came due without it.

Thresholds: settings.RISK_ALERT_THRESHOLDS, overridden by the rule's `threshold` in the admin. A rule switched
off is not checked. The anomaly rule (risk/services/anomaly.py) runs with them.
"""
from __future__ import annotations

import logging
import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from cohorts.models import Account, AccountKind, Cohort, CohortMode, CohortStatus
from cohorts.selectors.cohorts import bankroll_badge, cohort_running_figures
from cohorts.selectors.ledger import account_balances
from risk.models import Alert, AlertKind, AlertRule, AlertStatus
from risk.selectors.leverage import current_tier
from risk.services.alerts import alert_raise, alert_resolve

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Breach:
    """A condition found true: its alert's message and the keywords of `alert_raise` (data, cohort, deployment)."""

    message: str
    extra: dict[str, Any] = field(default_factory=dict)


def alert_threshold(kind: str) -> float:
    """The rule's figure: its AlertRule's `threshold` when set, else RISK_ALERT_THRESHOLDS[kind]."""
    threshold = AlertRule.objects.filter(kind=kind).values_list("threshold", flat=True).first()
    return float(threshold) if threshold is not None else float(settings.RISK_ALERT_THRESHOLDS[kind])


def rule_is_on(kind: str) -> bool:
    """False only when the kind's rule is kept and switched off in the admin."""
    return not AlertRule.objects.filter(kind=kind, enabled=False).exists()


def alerts_settle(kind: str, scope: str, breaches: dict[str, Breach]) -> dict[str, list[str]]:
    """Raises the alert of each breach (once: an open one stays as it is) and resolves the open alerts of `kind`
    under `scope` (the rule's key prefix, e.g. "agent:") whose condition is no longer found; alerts of the same
    kind raised elsewhere (the ladder's "leverage:…") are not this rule's to resolve. The keys raised and resolved."""
    outcome: dict[str, list[str]] = {"raised": [], "resolved": []}
    for key, breach in breaches.items():
        if alert_raise(kind, key, breach.message, **breach.extra) is not None:
            outcome["raised"].append(f"{kind}:{key}")
    cleared = Alert.objects.filter(kind=kind, key__startswith=scope, status=AlertStatus.OPEN).exclude(
        key__in=list(breaches))
    for key in list(cleared.values_list("key", flat=True)):
        outcome["resolved"] += [f"{kind}:{key}"] * alert_resolve(kind, key)
    return outcome


def alert_rules_check(*, now: datetime | None = None) -> dict[str, list[str]]:
    """Checks every rule that is on, then the anomaly rule; the alert keys raised and resolved ("kind:key")."""
    from risk.services.anomaly import anomalies_check

    now = now or timezone.now()
    finders = {  # kind: (its keys' prefix, what finds its breaches at a threshold)
        AlertKind.PARENT_DRAWDOWN: ("cohort:", parent_drawdown_breaches),
        AlertKind.LEVERAGE_BREACH: ("agent:", leverage_breaches),
        AlertKind.UTILISATION: ("bankroll:", utilisation_breaches),
        AlertKind.BEAT_MISSED: ("beat:", lambda threshold: beat_missed_breaches(threshold, now)),
    }
    checks = {kind: (lambda kind=kind, scope=scope, find=find: alerts_settle(kind, scope, find(alert_threshold(kind))))
              for kind, (scope, find) in finders.items()}
    checks[AlertKind.ANOMALY] = lambda: anomalies_check(now=now)
    outcome: dict[str, list[str]] = {"raised": [], "resolved": []}
    for kind, check in checks.items():
        if not rule_is_on(kind):
            continue
        try:  # one rule's fault (a bad figure, a schedule celery cannot read) leaves the others checked
            found = check()
        except Exception:
            log.exception("alert rule %s: check failed", kind)
            continue
        for name, keys in found.items():
            outcome[name] += keys
    return outcome


# --- the rules -----------------------------------------------------------------------------------------
def running_cohorts() -> list[tuple[Cohort, Any]]:
    """Running live cohorts with the deployment each runs (None for a live-paper cohort)."""
    cohorts = (Cohort.objects.filter(mode=CohortMode.LIVE, status=CohortStatus.RUNNING)
               .select_related("wallet", "deployment_run__deployment").order_by("pk"))
    return [(c, c.deployment_run.deployment if hasattr(c, "deployment_run") else None) for c in cohorts]


def _subject(cohort: Cohort, deployment) -> str:
    return f"Deployment {deployment.pk} (cohort {cohort.pk})" if deployment is not None else f"Cohort {cohort.pk}"


def parent_drawdown_breaches(limit: float) -> dict[str, Breach]:
    """Running live cohorts whose parent equity is below their capital by more than `limit` (a fraction)."""
    found = {}
    for cohort, deployment in running_cohorts():
        figures = cohort_running_figures(cohort)
        capital = cohort.wallet.bankroll
        if figures is None or capital <= 0:
            continue
        drawdown = float(1 - Decimal(figures["equity"]) / capital)
        if drawdown > limit:
            found[f"cohort:{cohort.pk}"] = Breach(
                f"{_subject(cohort, deployment)}: parent drawdown {drawdown:.2%} above {limit:.2%} "
                f"(equity ${Decimal(figures['equity']):,.2f} of ${capital:,.2f})",
                {"cohort": cohort, "deployment": deployment,
                 "data": {"drawdown": round(drawdown, 6), "limit": limit, "equity": str(figures["equity"])}})
    return found


def leverage_breaches(share: float) -> dict[str, Breach]:
    """Agents of running live cohorts whose gross positions at cost exceed `share` × their limit × their equity."""
    found = {}
    for cohort, deployment in running_cohorts():
        gross = _gross_positions(cohort)
        tier = current_tier(deployment=deployment) if deployment is not None else current_tier(cohort=cohort)
        limit = min(Decimal(cohort.wallet.leverage_ceiling), Decimal(tier))
        for agent in cohort.agents.filter(final_equity__isnull=False, pk__in=list(gross)):
            exposure = gross[agent.pk]
            leverage = float(exposure / agent.final_equity) if agent.final_equity > 0 else math.inf
            if leverage > float(limit) * share:
                found[f"agent:{agent.pk}"] = Breach(
                    f"{_subject(cohort, deployment)}, agent {agent.index}: leverage {leverage:.2f}× above its limit "
                    f"{limit:.2f}× (tier {tier:.2f}×, wallet ceiling {cohort.wallet.leverage_ceiling:.2f}×)",
                    {"cohort": cohort, "deployment": deployment,
                     "data": {"agent": agent.index, "leverage": round(leverage, 4) if math.isfinite(leverage) else None,
                              "limit": str(limit), "exposure": str(exposure), "equity": str(agent.final_equity)}})
    return found


def _gross_positions(cohort: Cohort) -> dict[int, Decimal]:
    """Each agent's positions at cost (absolute, summed over symbols), from its ledger position accounts."""
    accounts = dict(Account.objects.filter(cohort=cohort, kind=AccountKind.AGENT_POSITION, agent__isnull=False)
                    .values_list("pk", "agent_id"))
    gross: dict[int, Decimal] = defaultdict(Decimal)
    for account_id, balance in account_balances(list(accounts)).items():
        gross[accounts[account_id]] += abs(balance)
    return {agent: total for agent, total in gross.items() if total}


def utilisation_breaches(limit: float) -> dict[str, Breach]:
    """The house bankroll when its capital at work / (available + at work) is above `limit`."""
    badge = bankroll_badge()
    if badge is None:
        return {}
    available, at_work = Decimal(badge["available"]), Decimal(badge["at_work"])
    whole = available + at_work
    if whole <= 0:
        return {}
    used = float(at_work / whole)
    if used <= limit:
        return {}
    return {f"bankroll:{badge['name']}": Breach(
        f"Bankroll {badge['name']}: utilisation {used:.1%} above {limit:.1%} (${at_work:,.2f} at work of ${whole:,.2f})",
        {"data": {"utilisation": round(used, 6), "limit": limit, "at_work": str(at_work), "bankroll": str(whole)}})}


def beat_missed_breaches(periods: float, now: datetime) -> dict[str, Breach]:
    """Enabled, recurring scheduled jobs whose last run is older than `periods` of their schedule's periods."""
    found = {}
    jobs = PeriodicTask.objects.filter(enabled=True, one_off=False, last_run_at__isnull=False).exclude(
        interval__isnull=True, crontab__isnull=True).select_related("interval", "crontab")
    for job in jobs:
        if job.start_time is not None and job.start_time > now:
            continue
        due = _due_after(job, job.last_run_at, max(1, math.ceil(periods)))
        if due is not None and now > due:
            found[f"beat:{job.name}"] = Breach(
                f"Scheduled job {job.name} ({job.task}) missed its run: last run {job.last_run_at:%Y-%m-%d %H:%M:%S} "
                f"UTC, {math.ceil(periods)} run(s) due since", {"data": {"task": job.task,
                                                                         "last_run_at": job.last_run_at.isoformat()}})
    return found


def _due_after(job: PeriodicTask, last_run: datetime, runs: int) -> datetime | None:
    """When the `runs`-th run after `last_run` came (or comes) due on the job's schedule."""
    schedule = job.schedule
    due = last_run
    try:
        for _ in range(runs):  # rounded to the second: celery's estimate lands a hair before the mark it means
            due = timezone.now() + schedule.remaining_estimate(due)
            due = due.replace(microsecond=0) + timedelta(seconds=round(due.microsecond / 1e6))
    except (TypeError, ValueError, OverflowError) as exc:  # a schedule celery cannot step: not judged
        log.warning("beat job %s: schedule not readable (%s)", job.name, exc)
        return None
    return due
