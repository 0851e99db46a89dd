"""Celery tasks of promotions: they take ids, re-check state and call one service; idempotent."""
from __future__ import annotations

import smtplib

from celery import shared_task

from promotions.services.day3 import day3_go_no_go
from promotions.services.notify import promotion_notify


@shared_task(ignore_result=True)
def day3_go_no_go_task() -> list[dict]:
    """Beat: weighs the campaign days due for the Day-3 go/no-go and proposes their best agents."""
    return [verdict.as_dict() for verdict in day3_go_no_go()]


@shared_task(bind=True, ignore_result=True, autoretry_for=(smtplib.SMTPException, OSError), retry_backoff=30,
             retry_backoff_max=600, max_retries=8)
def promotion_notify_task(self, request_id: int) -> list[str]:
    """E-mails the approvers whose step request `request_id` awaits; retried while the mail server is away."""
    return promotion_notify(request_id=request_id)
