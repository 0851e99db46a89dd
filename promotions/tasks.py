"""Celery tasks of promotions: they take ids (or nothing), re-check state and call one service; idempotent.

The Day-3 go/no-go and the approvers' notices; expiry of unsigned requests; a deployment's run and the
minute's reconciliation of deployments."""
from __future__ import annotations

import smtplib

from celery import shared_task

from cohorts.services.clocks import clock_named
from promotions.services.day3 import day3_go_no_go
from promotions.services.deploy_reconcile import deployments_reconcile_all
from promotions.services.deploy_run import deployment_run
from promotions.services.notify import promotion_notify
from promotions.services.requests import promotion_expire_due


@shared_task(ignore_result=True)
def day3_go_no_go_task() -> list[dict]:
    """Beat: weighs the campaign days due for the Day-3 go/no-go and proposes their best agents."""
    return [verdict.as_dict() for verdict in day3_go_no_go()]


@shared_task(bind=True, ignore_result=True, autoretry_for=(smtplib.SMTPException, OSError), retry_backoff=30,
             retry_backoff_max=600, max_retries=8)
def promotion_notify_task(self, request_id: int) -> list[str]:
    """E-mails the approvers whose step request `request_id` awaits; retried while the mail server is away."""
    return promotion_notify(request_id=request_id)


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
