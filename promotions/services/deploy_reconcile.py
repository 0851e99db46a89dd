"""Each minute: every running deployment's ledger against its broker, and the housekeeping of deployments.

The broker's side is what moved in its account since the run began (its cash and positions then are the run's
`broker_baseline`), counted from the deployment's capital: a paper account opened for the deployment starts at
exactly that; an Alpaca paper account may hold other money and positions.

The ledger's cash for a deployment (its agent's cash plus its execution cash, `deploy_ledger`) must equal the
broker's cash within one cent — the resolution the cohorts' own reconciliation of ledger and engine uses —
and each symbol's quantity (the deployment's fills, signed) the broker's position within one unit of the
ledger (1e-8). A mismatch pauses the deployment and logs both sides' figures; a match is logged at most once
every DEPLOYMENT_RECONCILED_LOG_MINUTES. Both sides are read while the deployment's cohort row is locked, so a
bar (which sends its orders under that lock) is never half seen; a deployment with fills not yet sent (held
back, or waiting for an unavailable broker) is skipped until they are.
"""
from __future__ import annotations

import logging
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from cohorts.models import CohortStatus
from neolight.celery import enqueue
from neolight.money import CENT, QUANTUM
from promotions.brokers.base import BrokerError
from promotions.models import DEPLOYMENT_ENDED, Deployment, DeploymentRun, DeploymentStatus, LogKind
from promotions.services.deploy_ledger import ledger_book
from promotions.services.deployments import (
    deployment_broker,
    deployment_cohort_lock,
    deployment_finish,
    deployment_log,
    deployment_now,
    deployment_pause,
)
from risk.services.alerts import alert_raise, alert_resolve

log = logging.getLogger(__name__)
ZERO = Decimal(0)


def deployment_reconcile(*, deployment_id: int) -> str:
    """Reconciles one running deployment with its broker: "reconciled", "mismatch" (now paused), or
    "skipped" (not running, fills in flight, or the broker unavailable)."""
    with transaction.atomic():
        deployment_cohort_lock(deployment_id)
        deployment = Deployment.objects.select_for_update().get(pk=deployment_id)
        if deployment.status != DeploymentStatus.RUNNING:
            return "skipped"
        run = DeploymentRun.objects.select_related("cohort__wallet", "deployment").get(deployment=deployment)
        book = ledger_book(run)
        if book.unsent:
            return "skipped"
        broker = deployment_broker(deployment)
        try:
            account, positions = broker.account(), {p.symbol: p.qty for p in broker.positions()}
        except BrokerError as exc:
            log.warning("deployment %s: reconciliation skipped, the broker did not answer (%s)", deployment_id, exc)
            return "skipped"
        baseline = run.broker_baseline or {"cash": str(deployment.capital), "positions": {}}
        cash = account.cash - Decimal(baseline["cash"]) + deployment.capital  # what the deployment moved, from its capital
        for symbol, qty in baseline["positions"].items():
            positions[symbol] = positions.get(symbol, ZERO) - Decimal(qty)
        positions = {symbol: qty for symbol, qty in positions.items() if qty}
        figures = {"ledger": {"cash": str(book.cash), "positions": _strings(book.positions)},
                   "broker": {"cash": str(cash), "positions": _strings(positions)}}
        differences = _differences(book.cash, cash, book.positions, positions)
        if differences:
            deployment_pause(deployment_id=deployment_id, reason="Reconciliation mismatch: " + "; ".join(differences),
                             kind=LogKind.MISMATCH, data=figures)
            alert_raise("reconciliation", f"deployment:{deployment_id}", f"Deployment {deployment_id}: reconciliation "
                        "mismatch, paused: " + "; ".join(differences), deployment=deployment, data=figures)
            return "mismatch"
        alert_resolve("reconciliation", f"deployment:{deployment_id}")  # a match clears an earlier mismatch's alert
        now = deployment_now(run)
        if run.reconciled_at is None or now - run.reconciled_at >= timedelta(
                minutes=settings.DEPLOYMENT_RECONCILED_LOG_MINUTES):
            DeploymentRun.objects.filter(pk=run.pk).update(reconciled_at=now)
            deployment_log(deployment, LogKind.RECONCILED, f"Reconciled with the broker: cash ${account.cash:,.2f}, "
                           f"{len(positions)} position(s)", data=figures)
        return "reconciled"


def _differences(ledger_cash: Decimal, broker_cash: Decimal, ledger: dict[str, Decimal],
                 broker: dict[str, Decimal]) -> list[str]:
    found = []
    if abs(ledger_cash - broker_cash) > CENT:
        found.append(f"cash {ledger_cash} in the ledger, {broker_cash} at the broker")
    for symbol in sorted(set(ledger) | set(broker)):
        ours, theirs = ledger.get(symbol, ZERO), broker.get(symbol, ZERO)
        if abs(ours - theirs) > QUANTUM:
            found.append(f"{symbol} {ours} in the ledger, {theirs} at the broker")
    return found


def _strings(positions: dict[str, Decimal]) -> dict[str, str]:
    return {symbol: str(qty) for symbol, qty in sorted(positions.items())}


def deployments_reconcile_all() -> dict[str, list[int]]:
    """The minute's housekeeping: ends deployments whose run has ended, queues a run that resumes those whose
    worker died (their lease lapsed), and reconciles every running one. Returns the ids by outcome."""
    outcome: dict[str, list[int]] = {"finished": [], "resumed": [], "reconciled": [], "mismatch": [], "skipped": []}
    active = (DeploymentRun.objects.exclude(deployment__status__in=DEPLOYMENT_ENDED)
              .values_list("deployment_id", "cohort__status", "cohort__lease_expires_at"))
    now = timezone.now()
    for deployment_id, cohort_status, lease in list(active):
        if cohort_status in (CohortStatus.COMPLETED, CohortStatus.FAILED):
            if deployment_finish(deployment_id=deployment_id) is not None:
                outcome["finished"].append(deployment_id)
            continue
        if cohort_status == CohortStatus.RUNNING and lease is not None and lease < now:
            enqueue("promotions.tasks.deployment_run_task", deployment_id)
            outcome["resumed"].append(deployment_id)
        outcome[deployment_reconcile(deployment_id=deployment_id)].append(deployment_id)
    return outcome
