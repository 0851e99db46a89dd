"""Retention: what may be deleted once old, by the policy in settings (RETENTION_*_DAYS; None keeps for ever).

- 1-minute bars older than RETENTION_BARS_DAYS (a completed cohort keeps its results; only a re-run needs them);
- the equity curves of cohorts that ended more than RETENTION_CURVES_DAYS ago (their scores, agents, fills, hours
  and correlations stay: the pages show the summaries and say the curves are gone);
- finished alert deliveries (sent or given up) older than RETENTION_DELIVERIES_DAYS (the alerts stay);
- log-like rows older than RETENTION_LOGS_DAYS: login logs, the checkpoints of cohorts that ended, expired sessions.

Never: ledger accounts, transactions, entries and settlements, the audit rows (promotion log, signatures, mode
changes, breaker and kill-switch events), alerts, and the knowledge base. `NEVER` lists them and `prune` refuses any
rule that would touch one.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.sessions.models import Session
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from cohorts.models import Bar, CohortCheckpoint, CohortResult, CohortStatus

# model labels no retention rule may ever touch
NEVER = frozenset({
    "cohorts.account", "cohorts.ledgertransaction", "cohorts.entry", "cohorts.cohortsettlement",
    "promotions.promotionlog", "promotions.signature", "risk.modechange", "risk.breakerevent", "risk.killswitchevent",
    "risk.alert", "knowledge.knowledgeentry", "knowledge.campaign", "knowledge.campaignday", "knowledge.learningcycle",
})
ENDED = (CohortStatus.COMPLETED, CohortStatus.FAILED)


@dataclass(frozen=True)
class Rule:
    name: str  # what the operator reads: "bars", "equity curves", …
    setting: str  # RETENTION_…_DAYS
    rows: Callable[[datetime], QuerySet]  # the rows due, given the cut-off
    clear: dict | None = None  # None: delete the rows; else update them with these values (keep the row)


@dataclass
class Pruned:
    name: str
    table: str
    days: int | None
    rows: int
    action: str  # "delete" or "clear"


def _deliveries(cutoff: datetime) -> QuerySet:
    from risk.models import AlertDelivery, DeliveryStatus

    return AlertDelivery.objects.filter(created_at__lt=cutoff, status__in=[DeliveryStatus.SENT, DeliveryStatus.FAILED])


def _access_logs(cutoff: datetime) -> QuerySet:
    from axes.models import AccessLog

    return AccessLog.objects.filter(attempt_time__lt=cutoff)


def _failure_logs(cutoff: datetime) -> QuerySet:
    from axes.models import AccessFailureLog

    return AccessFailureLog.objects.filter(attempt_time__lt=cutoff)


RULES = (
    Rule("bars", "RETENTION_BARS_DAYS", lambda cutoff: Bar.objects.filter(ts__lt=cutoff)),
    Rule("equity curves", "RETENTION_CURVES_DAYS",
         lambda cutoff: CohortResult.objects.filter(cohort__status__in=ENDED, cohort__finished_at__lt=cutoff)
         .exclude(equity_curves=b""), clear={"equity_curves": b""}),
    Rule("alert deliveries", "RETENTION_DELIVERIES_DAYS", _deliveries),
    Rule("login logs", "RETENTION_LOGS_DAYS", _access_logs),
    Rule("failed login logs", "RETENTION_LOGS_DAYS", _failure_logs),
    Rule("checkpoints of ended cohorts", "RETENTION_LOGS_DAYS",
         lambda cutoff: CohortCheckpoint.objects.filter(cohort__status__in=ENDED, cohort__finished_at__lt=cutoff)),
    Rule("expired sessions", "RETENTION_LOGS_DAYS", lambda cutoff: Session.objects.filter(expire_date__lt=timezone.now())),
)


def prune(*, dry_run: bool = False, now: datetime | None = None) -> list[Pruned]:
    """Applies every rule whose setting is not None; with `dry_run` only counts. Returns, per rule, the table
    and how many rows were (or would be) deleted or cleared. Each rule commits on its own."""
    now = now or timezone.now()
    done = []
    for rule in RULES:
        days = getattr(settings, rule.setting)
        if days is None:
            continue
        rows = rule.rows(now - timedelta(days=days))
        label = rows.model._meta.label_lower
        if label in NEVER:  # a rule written against the policy: refuse rather than delete
            raise RuntimeError(f"retention rule {rule.name!r} would touch {label}, which is never pruned")
        action = "clear" if rule.clear else "delete"
        if dry_run:
            count = rows.count()
        else:
            with transaction.atomic():
                count = rows.update(**rule.clear) if rule.clear else rows.delete()[1].get(rows.model._meta.label, 0)
        done.append(Pruned(rule.name, rows.model._meta.db_table, days, count, action))
    return done


def prune_scheduled() -> list[dict]:
    """Beat's daily prune."""
    return [asdict(item) for item in prune()]
