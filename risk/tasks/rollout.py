"""Celery tasks of risk: the gradual capital rollout."""
from __future__ import annotations

from celery import shared_task

from risk.services.rollout import rollout_propose_due


@shared_task(acks_late=True, ignore_result=True)
def rollout_propose_due_task() -> dict[str, list[int]]:
    """Beat (every RISK_ROLLOUT_EVERY_SECONDS): applies approved capital steps a crash left unapplied and asks the
    approval chain for the next slice of each deployment whose slice ran its days without a breach."""
    return rollout_propose_due()
