"""Scheduled e-mail of the reports: after the day ends each enabled recipient gets one mail with the CSV and the
PDF attached, a campaign's report when it ends; a second run, or a retry after the mail server was away, sends
nothing twice."""
from __future__ import annotations

import socket
from datetime import UTC, datetime, timedelta
from email.header import decode_header, make_header

import pytest
from django.conf import settings as django_settings

from assistant.models import DeliveryStatus, ReportDelivery, ReportRecipient
from assistant.reports.delivery import report_deliver, reports_deliver_due
from knowledge.models import CampaignDay
from neolight.celery import task_named
from tests.assistant.reports.conftest import DAY, needs_pdf
from tests.factories import CampaignFactory

pytestmark = [needs_pdf]  # PDFs are made (and read) here; without Pango the CSV paths are tested elsewhere

AFTER_THE_DAY = datetime(2021, 5, 7, 1, 0, tzinfo=UTC)


def subject(mail) -> str:
    return str(make_header(decode_header(mail["Subject"])))


def attachments(mail) -> dict[str, bytes]:
    return {part.get_filename(): part.get_payload(decode=True) for part in mail.walk() if part.get_filename()}


@pytest.fixture
def desk_list(db):
    """The desk's list (daily and campaign reports, two addresses), a disabled one and a campaign-only one."""
    ReportRecipient.objects.create(name="off", emails="off@desk.example", is_enabled=False)
    ReportRecipient.objects.create(name="campaigns", emails="cam@desk.example", gets_daily=False)
    return ReportRecipient.objects.create(name="desk", emails="ana@desk.example,\n bo@desk.example")


@pytest.mark.django_db
def test_a_scheduled_run_mails_each_report_once_with_csv_and_pdf(day_story, desk_list, smtp, eager,
                                                                 django_capture_on_commit_callbacks):
    campaign = CampaignFactory(status="completed", finished_at=AFTER_THE_DAY - timedelta(hours=2))
    CampaignDay.objects.create(campaign=campaign, number=1, date=DAY, cohort=day_story)

    with django_capture_on_commit_callbacks(execute=True):
        queued = reports_deliver_due(now=AFTER_THE_DAY)
    assert len(queued) == 3  # the daily report to the desk, the campaign's to the desk and to the campaign list

    assert len(smtp.messages) == 3
    [(_, recipients, mail)] = [m for m in smtp.messages if "neolight-daily-2021-05-06.pdf" in attachments(m[2])]
    assert subject(mail) == "[NeoLight] Daily report — Thursday 06 May 2021 (UTC)"
    assert sorted(recipients) == ["ana@desk.example", "bo@desk.example"]
    files = attachments(mail)
    assert sorted(files) == ["neolight-daily-2021-05-06.csv", "neolight-daily-2021-05-06.pdf"]
    assert files["neolight-daily-2021-05-06.csv"].startswith(b"section,period,at,cohort,agent,item,value,detail")
    assert files["neolight-daily-2021-05-06.pdf"].startswith(b"%PDF")
    campaign_mails = [m for _, _, m in smtp.messages if f"neolight-campaign-{campaign.pk}.pdf" in attachments(m)]
    assert len(campaign_mails) == 2
    assert not any("off@desk.example" in r for _, r, _ in smtp.messages)
    delivery = ReportDelivery.objects.get(recipient=desk_list, kind="daily", period="2021-05-06")
    assert delivery.status == DeliveryStatus.SENT and delivery.attempts == 1

    with django_capture_on_commit_callbacks(execute=True):
        assert reports_deliver_due(now=AFTER_THE_DAY + timedelta(minutes=15)) == []
    report_deliver(recipient_id=desk_list.pk, kind="daily", period="2021-05-06")  # a late duplicate of the task
    assert len(smtp.messages) == 3


@pytest.mark.django_db
def test_a_retry_after_a_mail_server_outage_sends_once(day_cohort, desk_list, smtp, settings):
    with socket.socket() as closed:  # a port nobody listens on: the mail server is away
        closed.bind(("127.0.0.1", 0))
        settings.EMAIL_PORT = closed.getsockname()[1]
    with pytest.raises(OSError):
        report_deliver(recipient_id=desk_list.pk, kind="daily", period="2021-05-06")
    delivery = ReportDelivery.objects.get(recipient=desk_list, kind="daily", period="2021-05-06")
    assert delivery.status == DeliveryStatus.PENDING and delivery.attempts == 1 and "Connection" in delivery.error
    assert smtp.messages == []

    settings.EMAIL_PORT = smtp.port  # back: Celery's retry sends it, and any later retry sends nothing
    for _ in range(2):
        report_deliver(recipient_id=desk_list.pk, kind="daily", period="2021-05-06")
    assert len(smtp.messages) == 1
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.SENT and delivery.attempts == 2 and delivery.error == ""


def test_the_schedule_runs_the_registered_task():
    entry = django_settings.CELERY_BEAT_SCHEDULE["assistant-reports-deliver-due"]
    assert task_named(entry["task"]).name == "assistant.tasks.reports_deliver_due_task"
    retried = task_named("assistant.tasks.report_deliver_task")
    assert OSError in retried.autoretry_for and retried.max_retries >= 3
