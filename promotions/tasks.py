"""Celery tasks of promotions: they take ids (or nothing), re-check state and call one service; idempotent.

Expiry of unsigned requests; a deployment's run and the minute's reconciliation of deployments."""
from __future__ import annotations

from celery import shared_task

from cohorts.services.clocks import clock_named
from promotions.services.deploy_reconcile import deployments_reconcile_all
from promotions.services.deploy_run import deployment_run
from promotions.services.requests import promotion_expire_due


@shared_task(acks_late=True, ignore_result=True)
def promotion_expire_due_task() -> list[int]:
    """Marks pending requests past their expiry expired (beat, every PROMOTION_EXPIRE_EVERY_SECONDS)."""
    return promotion_expire_due()


@shared_task(acks_late=True, ignore_result=True)
def deployment_run_task(deployment_id: int, clock: str = "wall") -> None:
    """Runs a deployment's live cohort with its broker on the bars (`clock`: wall, or replay for stored bars),
    or resumes it after its worker died; a deployment that ended, or whose run another worker holds, is left."""
    deployment_run(deployment_id=deployment_id, clock=clock_named(clock))


@shared_task(ignore_result=True)
def deployments_reconcile() -> dict[str, list[int]]:
    """Each minute: ledger vs broker for every running deployment (a mismatch pauses it), ends those whose run
    ended, resumes those whose worker died."""
    return deployments_reconcile_all()
