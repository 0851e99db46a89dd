"""Celery tasks of the approval chain: they take ids (or nothing), re-check state, and call one service."""
from __future__ import annotations

from celery import shared_task

from promotions.services.requests import promotion_expire_due


@shared_task(acks_late=True, ignore_result=True)
def promotion_expire_due_task() -> list[int]:
    """Marks pending requests past their expiry expired (beat, every PROMOTION_EXPIRE_EVERY_SECONDS)."""
    return promotion_expire_due()
