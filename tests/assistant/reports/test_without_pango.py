"""On a machine without Pango (WeasyPrint's system library) the reports still work as CSV: the scheduled mail carries
the CSV and says why there is no PDF, a PDF download answers 503 with the reason, and the command refuses a PDF
naming what to install — nothing half-written."""
from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from assistant.models import DeliveryStatus, ReportRecipient
from assistant.reports import delivery, pdf, views
from assistant.reports.delivery import report_deliver

MISSING = "PDF reports need Pango, which this machine lacks (apt-get install libpango-1.0-0): no library called pango"


@pytest.fixture
def no_pango(monkeypatch):
    for module in (pdf, delivery, views):
        monkeypatch.setattr(module, "pdf_unavailable", lambda: MISSING)


@pytest.mark.django_db
def test_without_pango_the_mail_carries_the_csv_and_says_why_there_is_no_pdf(day_cohort, no_pango, smtp):
    desk = ReportRecipient.objects.create(name="desk", emails="ana@desk.example")

    sent = report_deliver(recipient_id=desk.pk, kind="daily", period="2021-05-06")

    [(_, recipients, mail)] = smtp.messages
    files = [part.get_filename() for part in mail.walk() if part.get_filename()]
    body = next(part for part in mail.walk() if part.get_content_type() == "text/plain").get_payload(decode=True)
    assert recipients == ["ana@desk.example"] and files == ["neolight-daily-2021-05-06.csv"]
    assert b"The CSV is attached; no PDF: PDF reports need Pango" in body
    assert sent.status == DeliveryStatus.SENT and sent.attachments == ["neolight-daily-2021-05-06.csv"]


@pytest.mark.django_db
def test_without_pango_a_pdf_download_says_why_and_the_command_refuses_it(day_cohort, maker, client, no_pango,
                                                                            tmp_path):
    client.force_login(maker)
    daily = reverse("report-daily") + "?date=2021-05-06&format="

    refused = client.get(daily + "pdf")
    assert refused.status_code == 503 and "libpango" in refused.content.decode()
    assert client.get(daily + "csv").status_code == 200

    output = tmp_path / "day.pdf"
    with pytest.raises(CommandError, match="Pango"):
        call_command("report", "daily", "--date", "2021-05-06", "--format", "pdf", "--output", str(output),
                     stdout=StringIO())
    assert not output.exists()
