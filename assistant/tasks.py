"""Celery tasks of the assistant: they take ids (or nothing), re-check state and call one service; idempotent.

The reports' schedule (beat: every REPORT_EVERY_MINUTES) and one report's delivery to one recipient, retried
while the mail server is away."""
from __future__ import annotations

import smtplib

from celery import shared_task

from assistant.reports.delivery import report_deliver, reports_deliver_due


@shared_task(ignore_result=True)
def reports_deliver_due_task() -> list[tuple[int, str, str]]:
    """Beat: queues the daily report after each UTC day ends and a campaign's report when it ends, per recipient."""
    return reports_deliver_due()


@shared_task(bind=True, ignore_result=True, autoretry_for=(smtplib.SMTPException, OSError), retry_backoff=30,
             retry_backoff_max=600, max_retries=8)
def report_deliver_task(self, recipient_id: int, kind: str, period: str) -> str:
    """E-mails report `kind` of `period` to recipient `recipient_id`, once; retried on mail-server errors."""
    return report_deliver(recipient_id=recipient_id, kind=kind, period=period).status
