"""Celery tasks of risk: leverage."""
from __future__ import annotations

from celery import shared_task

from risk.services.leverage import leverage_evaluate_due


@shared_task(acks_late=True, ignore_result=True)
def leverage_evaluate_due_task() -> dict[str, list[int]]:
    """Beat: evaluates the leverage ladder for what is due (completed cohorts, campaign days and bankroll days not
    yet evaluated, deployments every RISK_LEVERAGE_DEPLOYMENT_MINUTES), at most RISK_LEVERAGE_BATCH a run."""
    return leverage_evaluate_due()
