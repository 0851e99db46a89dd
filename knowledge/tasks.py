"""Celery tasks of learning and campaigns: they take ids (or a slot), re-check state, and call one service.

Each is idempotent: a campaign step repeats nothing already done, and a cycle runs once per slot.
"""
from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from knowledge.models import Campaign, CampaignMode, CampaignStatus
from knowledge.services.campaigns import STOPPING_STEPS, campaign_advance, campaign_step_broke, campaign_tick
from knowledge.services.cycles import cycle_intraday_run, cycle_study_join
from neolight.celery import enqueue

logger = logging.getLogger(__name__)


@shared_task(acks_late=True, ignore_result=True)
def campaign_advance_task(campaign_id: int) -> str:
    """Takes a campaign's next step (launch the day that is due, learn after a finished day, complete)."""
    return campaign_advance(campaign_id=campaign_id)


@shared_task(acks_late=True, ignore_result=True)
def campaign_replay_task(campaign_id: int) -> str:
    """Takes a replay campaign's next step and queues the one after, day by day, until it ends or must
    wait; a cancelled campaign's step is a no-op, so the chain stops there."""
    try:
        step = campaign_advance(campaign_id=campaign_id)
    except Exception as exc:  # no step follows a broken one: say so on the campaign rather than leave it running
        logger.exception("campaign %s: a replay step failed", campaign_id)
        campaign_step_broke(campaign_id=campaign_id, error=exc)
        return "failed"
    if step not in STOPPING_STEPS:
        enqueue("knowledge.tasks.campaign_replay_task", campaign_id)
    return step


@shared_task(ignore_result=True)
def campaign_tick_task() -> list[int]:
    """Beat: queues a step for every live campaign still under way."""
    ids = campaign_tick()
    for campaign_id in ids:
        campaign_advance_task.delay(campaign_id)
    return ids


def intraday_slot(now: datetime) -> datetime:
    """The start of the intraday period holding `now` (periods of LEARNING_INTRADAY_EVERY_HOURS from midnight UTC)."""
    every = settings.LEARNING_INTRADAY_EVERY_HOURS
    midnight = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return midnight + timedelta(hours=every * ((now.astimezone(UTC).hour) // every))


@shared_task(acks_late=True, ignore_result=True)
def learning_intraday_task(now: str | None = None) -> list[int]:
    """Beat: the intraday cycle of every running live campaign for the current slot (`now`, ISO-8601, defaults
    to the clock); a slot already done is skipped. Returns the ids of the cycles that ran."""
    at = datetime.fromisoformat(now) if now else timezone.now()
    slot = intraday_slot(at)
    ran = []
    for campaign_id in Campaign.objects.filter(mode=CampaignMode.LIVE, status=CampaignStatus.RUNNING).values_list("pk", flat=True):
        cycle = cycle_intraday_run(campaign_id=campaign_id, slot=slot)
        if cycle is not None:
            ran.append(cycle.pk)
    return ran


@shared_task(acks_late=True, ignore_result=True)
def learning_study_join_task(cycle_id: int, family: str) -> int:
    """Joins a running cycle's shared optuna study for `family` and runs trials until its budget is spent."""
    return cycle_study_join(cycle_id=cycle_id, family=family)
