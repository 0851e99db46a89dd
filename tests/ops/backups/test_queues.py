"""Each kind of work goes to its own queue, so workers can be given one kind each (deploy/)."""
from __future__ import annotations

import pytest
from django.conf import settings

from neolight.celery import app

EXPECTED = {
    "cohorts.tasks.cohort_run_task": "cohorts",
    "knowledge.tasks.campaign_replay_task": "cohorts",
    "knowledge.tasks.learning_study_join_task": "learning",
    "risk.tasks.alerts.alert_deliver_task": "alerts",
    "promotions.tasks.promotion_notify_task": "alerts",
    "cohorts.tasks.cohort_run_live_task": "live",
    "promotions.tasks.deployment_run_task": "live",
    "cohorts.tasks.ingest_latest_bars": "live",
    "cohorts.tasks.cohort_recover_stale_task": "celery",
    "neolight.ops.backup_tasks.backup_scheduled_task": "celery",
}


def queue_of(name: str) -> str:
    return app.amqp.router.route({}, name, args=(), kwargs={})["queue"].name


@pytest.fixture(scope="module")
def registered() -> set[str]:
    app.loader.import_default_modules()
    return {name for name in app.tasks if not name.startswith("celery.")}


@pytest.mark.parametrize(("task", "queue"), EXPECTED.items())
def test_a_task_is_routed_to_its_kind_of_queue(task, queue, registered):
    assert task in registered
    assert queue_of(task) == queue


def test_every_route_names_a_real_task_and_every_task_lands_on_a_served_queue(registered):
    """A renamed task would silently fall back to the default queue: every exact route must name a registered task,
    and every task must go to a queue deploy/ starts workers for."""
    exact = [name for name in settings.CELERY_TASK_ROUTES if "*" not in name]
    assert sorted(set(exact) - registered) == []
    assert {queue_of(name) for name in registered} <= set(settings.WORKER_QUEUES)


def test_every_beat_entry_names_a_registered_task(registered):
    assert {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()} <= registered


def test_a_worker_without_queues_serves_every_kind_of_work():
    """`celery -A neolight worker` with no -Q (one machine, README "Running the full stack") consumes all queues."""
    assert set(app.amqp.queues) == set(settings.WORKER_QUEUES)
