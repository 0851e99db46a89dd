"""Reports by e-mail: the schedule finds the periods due (the UTC day that just ended, campaigns that ended) and
queues one delivery per enabled recipient; a delivery sends the CSV and the PDF attached, once.

Once per (recipient, kind, period): the delivery's row is unique and locked while its mail is sent, and marked sent
in the same transaction; a retry (after a crash, or while the mail server is away) finds it sent and sends nothing.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from assistant.models import DeliveryStatus, ReportDelivery, ReportKind, ReportRecipient
from knowledge.models import CAMPAIGN_ENDED, Campaign
from neolight.celery import enqueue
from neolight.errors import ApplicationError

from .csvfile import report_csv
from .data import Report, parse_day, report_campaign, report_daily
from .pdf import pdf_unavailable, report_pdf

log = logging.getLogger(__name__)
DELIVER_TASK = "assistant.tasks.report_deliver_task"


@dataclass(frozen=True)
class ReportFile:
    name: str
    content: bytes
    mimetype: str


def report_build(*, kind: str, period: str, user=None) -> Report:
    """The report of `kind` ('daily' or 'campaign') for `period` (a YYYY-MM-DD date or a campaign id), as `user`
    may see it (None: the desk's view). ApplicationError names the bad field."""
    if kind == ReportKind.DAILY:
        return report_daily(day=parse_day(period), user=user)
    if kind == ReportKind.CAMPAIGN:
        if not str(period).isdigit():
            raise ApplicationError(f"'{period}' is not a campaign id.", field="campaign")
        return report_campaign(campaign_id=int(period), user=user)
    raise ApplicationError(f"'{kind}' is not a report: daily or campaign.", field="kind")


def report_files(report: Report, formats: tuple[str, ...] = ("csv", "pdf")) -> list[ReportFile]:
    """The report rendered in each of `formats`."""
    render = {"csv": (report_csv, "text/csv"), "pdf": (report_pdf, "application/pdf")}
    return [ReportFile(f"{report.file_stem}.{fmt}", render[fmt][0](report), render[fmt][1]) for fmt in formats]


def report_deliver(*, recipient_id: int, kind: str, period: str) -> ReportDelivery:
    """Sends report `kind` of `period` to the recipient once (CSV and PDF attached); a delivery already sent is
    returned untouched. A mail-server error is noted on the delivery's row, then propagates (the caller retries)."""
    recipient = ReportRecipient.objects.get(pk=recipient_id)
    ReportDelivery.objects.get_or_create(recipient=recipient, kind=kind, period=period)  # claimed, committed
    try:
        return _send_once(recipient, kind, period)
    except Exception as exc:
        ReportDelivery.objects.filter(recipient=recipient, kind=kind, period=period, status=DeliveryStatus.PENDING) \
            .update(attempts=F("attempts") + 1, error=f"{type(exc).__name__}: {exc}"[:300])
        raise


@transaction.atomic
def _send_once(recipient: ReportRecipient, kind: str, period: str) -> ReportDelivery:
    """Locks the delivery's row while its mail is sent and marks it sent in the same transaction."""
    delivery = ReportDelivery.objects.select_for_update().get(recipient=recipient, kind=kind, period=period)
    if delivery.status == DeliveryStatus.SENT:
        return delivery
    report = report_build(kind=kind, period=period)
    missing = pdf_unavailable()  # without Pango the CSV still goes, and the mail says why the PDF does not
    files = report_files(report, ("csv",) if missing else ("csv", "pdf"))
    body = _body(report) if not missing else _body(report).replace("The CSV and the PDF are attached.",
                                                                    f"The CSV is attached; no PDF: {missing}")
    message = EmailMessage(subject=f"[NeoLight] {report.title}", body=body, to=recipient.addresses,
                           from_email=settings.DEFAULT_FROM_EMAIL)
    for file in files:
        message.attach(file.name, file.content, file.mimetype)
    message.send()
    delivery.status, delivery.sent_at, delivery.error = DeliveryStatus.SENT, timezone.now(), ""
    delivery.attempts, delivery.addresses = delivery.attempts + 1, recipient.addresses
    delivery.attachments = [file.name for file in files]
    delivery.save()
    return delivery


def _body(report: Report) -> str:
    if report.is_empty:
        return f"{report.title}\n\nNothing traded or was decided in this period; the attached report is empty.\n"
    return (f"{report.title}\n\n{len(report.cohorts)} cohort(s), PnL ${report.pnl:,.2f}, "
            f"{len(report.approvals)} promotion request(s), {len(report.leverage)} leverage decision(s), "
            f"{len(report.post_mortems)} post-mortem(s).\n\nThe CSV and the PDF are attached.\n")


def reports_due(*, now: datetime) -> list[tuple[str, str]]:
    """(kind, period) of the reports due at `now`: the last UTC day once REPORT_DAILY_AFTER_MINUTES have passed
    since it ended, and every campaign that ended within REPORT_CAMPAIGN_LOOKBACK_HOURS."""
    shifted = now - timedelta(minutes=settings.REPORT_DAILY_AFTER_MINUTES)
    due = [(ReportKind.DAILY.value, (shifted.date() - timedelta(days=1)).isoformat())]
    ended = Campaign.objects.filter(status__in=CAMPAIGN_ENDED, finished_at__lte=now,
                                    finished_at__gte=now - timedelta(hours=settings.REPORT_CAMPAIGN_LOOKBACK_HOURS))
    due += [(ReportKind.CAMPAIGN.value, str(pk)) for pk in ended.order_by("finished_at").values_list("pk", flat=True)]
    return due


def reports_deliver_due(*, now: datetime | None = None) -> list[tuple[int, str, str]]:
    """Queues (after commit) a delivery for each report due and each enabled recipient that gets it and has not
    had it; returns (recipient, kind, period) of those queued."""
    now = now or timezone.now()
    queued = []
    recipients = list(ReportRecipient.objects.filter(is_enabled=True))
    for kind, period in reports_due(now=now):
        sent = set(ReportDelivery.objects.filter(kind=kind, period=period, status=DeliveryStatus.SENT)
                   .values_list("recipient", flat=True))
        queued += [(r.pk, kind, period) for r in recipients if r.gets(kind) and r.pk not in sent]
    for args in queued:
        transaction.on_commit(lambda args=args: enqueue(DELIVER_TASK, *args))
    return queued


def report_email_now(*, kind: str, period: str) -> list[ReportDelivery]:
    """Sends report `kind` of `period` to every enabled recipient that gets it, as the schedule would (once each)."""
    report_build(kind=kind, period=period)  # refuses a bad period before anything is written
    recipients = ReportRecipient.objects.filter(is_enabled=True)
    return [report_deliver(recipient_id=r.pk, kind=kind, period=period) for r in recipients if r.gets(kind)]


def day_default(now: datetime | None = None) -> date:
    """The last complete UTC day."""
    return (now or timezone.now()).date() - timedelta(days=1)
