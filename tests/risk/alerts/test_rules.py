"""The minute's rules: a scheduled job that missed its runs alerts once and resolves when it runs again; the rules'
beat entry is wired; a rule switched off is not checked."""
from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings as django_settings
from django.utils import timezone
from django_celery_beat.models import CrontabSchedule, IntervalSchedule, PeriodicTask

from neolight.celery import task_named
from risk.models import Alert, AlertRule, AlertStatus
from risk.services.alert_rules import alert_rules_check
from risk.tasks.alerts import alert_rules_check_task

pytestmark = pytest.mark.django_db


@pytest.fixture
def jobs(db):
    """A job every minute and one on a five-minute crontab, as beat keeps them."""
    minute = IntervalSchedule.objects.create(every=60, period=IntervalSchedule.SECONDS)
    five = CrontabSchedule.objects.create(minute="*/5", hour="*", day_of_week="*", day_of_month="*",
                                          month_of_year="*", timezone="UTC")
    every_minute = PeriodicTask.objects.create(name="reconcile", task="promotions.tasks.deployments_reconcile",
                                               interval=minute, last_run_at=timezone.now())
    every_five = PeriodicTask.objects.create(name="go-no-go", task="promotions.tasks.day3_go_no_go_task",
                                             crontab=five, last_run_at=timezone.now())
    return every_minute, every_five


def ran(job: PeriodicTask, ago: timedelta) -> None:
    PeriodicTask.objects.filter(pk=job.pk).update(last_run_at=timezone.now() - ago)


def test_a_job_that_missed_two_runs_alerts_once_and_resolves_when_it_runs(jobs):
    every_minute, every_five = jobs
    assert alert_rules_check() == {"raised": [], "resolved": []}
    ran(every_minute, timedelta(seconds=100))  # one run late: not yet
    ran(every_five, timedelta(minutes=4))  # at most one five-minute mark passed since
    assert alert_rules_check() == {"raised": [], "resolved": []}

    ran(every_minute, timedelta(seconds=130))
    ran(every_five, timedelta(minutes=11))  # two five-minute marks passed since
    assert sorted(alert_rules_check()["raised"]) == ["beat_missed:beat:go-no-go", "beat_missed:beat:reconcile"]
    assert alert_rules_check()["raised"] == []  # still missing: the same breach, no new alert
    alert = Alert.objects.get(key="beat:reconcile")
    assert alert.message.startswith("Scheduled job reconcile (promotions.tasks.deployments_reconcile) missed its run")

    ran(every_minute, timedelta(0))  # beat ran it again
    PeriodicTask.objects.filter(pk=every_five.pk).update(enabled=False)  # switched off: no longer watched
    resolved = alert_rules_check_task.apply().get()["resolved"]  # the beat task, run here
    assert sorted(resolved) == ["beat_missed:beat:go-no-go", "beat_missed:beat:reconcile"]
    assert set(Alert.objects.filter(kind="beat_missed").values_list("key", "status")) == {
        ("beat:reconcile", AlertStatus.RESOLVED), ("beat:go-no-go", AlertStatus.RESOLVED)}


def test_a_rule_switched_off_is_not_checked(jobs):
    every_minute, _ = jobs
    ran(every_minute, timedelta(minutes=10))
    AlertRule.objects.create(kind="beat_missed", enabled=False)
    assert alert_rules_check() == {"raised": [], "resolved": []} and not Alert.objects.exists()
    AlertRule.objects.filter(kind="beat_missed").update(enabled=True, threshold=20)  # 20 periods may pass
    assert alert_rules_check() == {"raised": [], "resolved": []}
    AlertRule.objects.filter(kind="beat_missed").update(threshold=None)  # back to the default, 2
    assert alert_rules_check()["raised"] == ["beat_missed:beat:reconcile"]


def test_the_rules_run_each_minute_from_beat():
    entry = django_settings.CELERY_BEAT_SCHEDULE["risk-alert-rules"]
    assert entry["task"] == "risk.tasks.alerts.alert_rules_check_task" and entry["schedule"] == 60.0
    assert task_named(entry["task"]).name == alert_rules_check_task.name == entry["task"]
