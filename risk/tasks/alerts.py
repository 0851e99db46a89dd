"""Celery tasks of risk: alerts — one delivery's attempts, and the minute's check of the alert rules."""
from __future__ import annotations

import time

from celery import shared_task

from risk.services.alert_rules import alert_rules_check
from risk.services.alerts import alert_deliver


@shared_task(bind=True, ignore_result=True, acks_late=True, max_retries=None)
def alert_deliver_task(self, delivery_id: int) -> str:
    """Sends one alert delivery; on a rate limit, server error or transport failure tries again after the wait
    `alert_deliver` gives (it decides when to give up, after RISK_ALERT_MAX_ATTEMPTS). Returns its status.

    On a worker the next attempt is a Celery retry with that countdown. Run in-process (eager: the embedded
    mode's background thread, tests), where no worker would take a retry, it waits and tries again here."""
    attempt = alert_deliver(delivery_id=delivery_id)
    while attempt.retry_in is not None:
        if not self.request.is_eager:
            raise self.retry(countdown=attempt.retry_in)
        time.sleep(attempt.retry_in)
        attempt = alert_deliver(delivery_id=delivery_id)
    return attempt.delivery.status


@shared_task(ignore_result=True, acks_late=True)
def alert_rules_check_task() -> dict[str, list[str]]:
    """Beat, each RISK_ALERT_RULES_EVERY_SECONDS: checks every alert rule and the anomaly rule; the keys raised
    and resolved."""
    return alert_rules_check()
