"""Celery tasks of risk: guardian."""
from __future__ import annotations

from celery import shared_task

from risk.services.guardian import breakers_recover


@shared_task(acks_late=True, ignore_result=True)
def breakers_recover_task() -> list[int]:
    """Beat, each minute: breakers whose cool-down (or day) has passed return to active; the ids recovered."""
    return breakers_recover()
