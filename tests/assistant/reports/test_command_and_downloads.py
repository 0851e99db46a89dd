"""`manage.py report` writes files and refuses bad input writing nothing; the download buttons' views need a login
and show each user only what they may see."""
from __future__ import annotations

import csv
import io
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from assistant.models import ReportDelivery, ReportRecipient
from knowledge.models import CampaignDay
from tests.assistant.reports.conftest import DAY, needs_pdf
from tests.factories import CampaignFactory

pytestmark = [needs_pdf]  # PDFs are made (and read) here; without Pango the CSV paths are tested elsewhere


@pytest.mark.django_db
def test_the_command_writes_the_daily_report_as_csv_and_pdf(day_cohort, tmp_path):
    csv_file, pdf_file = tmp_path / "day.csv", tmp_path / "day.pdf"
    call_command("report", "daily", "--date", "2021-05-06", "--format", "csv", "--output", str(csv_file),
                 stdout=StringIO())
    call_command("report", "daily", "--date", "2021-05-06", "--format", "pdf", "--output", str(pdf_file),
                 stdout=StringIO())
    rows = list(csv.DictReader(io.StringIO(csv_file.read_text())))
    assert any(r["section"] == "cohort" and r["cohort"] == str(day_cohort.pk) for r in rows)
    assert pdf_file.read_bytes().startswith(b"%PDF")
    assert not ReportDelivery.objects.exists()  # written, not e-mailed


@pytest.mark.django_db
@pytest.mark.parametrize("args, message", [
    (["daily", "--date", "2021-02-30"], "is not a date"),
    (["daily", "--date", "yesterday"], "is not a date"),
    (["campaign", "--campaign", "999"], "There is no campaign 999"),
    (["campaign"], "needs --campaign"),
    (["daily", "--date", "2021-05-06"], "Give --output"),
])
def test_the_command_refuses_bad_input_and_writes_nothing(args, message, tmp_path):
    output = tmp_path / "report.pdf"
    extra = [] if message == "Give --output" else ["--output", str(output)]
    with pytest.raises(CommandError, match=message):
        call_command("report", *args, *extra, stdout=StringIO())
    assert not output.exists()


@pytest.mark.django_db
def test_the_command_emails_as_the_schedule_would(day_cohort, smtp, tmp_path):
    ReportRecipient.objects.create(name="desk", emails="ana@desk.example")
    for _ in range(2):
        call_command("report", "daily", "--date", "2021-05-06", "--email", stdout=StringIO())
    assert len(smtp.messages) == 1 and smtp.messages[0][1] == ["ana@desk.example"]


@pytest.mark.django_db
def test_downloads_need_a_login_and_show_only_what_the_user_may_see(day_cohort, maker, outsider, client):
    campaign = CampaignFactory(created_by=maker, status="completed")
    CampaignDay.objects.create(campaign=campaign, number=1, date=DAY, cohort=day_cohort)
    daily = reverse("report-daily") + "?date=2021-05-06&format=csv"
    recon = reverse("report-reconciliation", args=[day_cohort.pk])
    campaign_pdf = reverse("report-campaign", kwargs={"campaign_id": campaign.pk, "fmt": "pdf"})

    for url in (daily, recon, campaign_pdf):
        assert client.get(url).status_code == 302  # to the login page

    client.force_login(outsider)  # neither launched the cohort nor started the campaign
    assert client.get(recon).status_code == 404 and client.get(campaign_pdf).status_code == 404
    hidden = client.get(daily)
    assert hidden.status_code == 200 and b"empty" in hidden.content and b"cohort-" not in hidden.content

    client.force_login(maker)
    page = client.get(reverse("cohort-detail", args=[day_cohort.pk])).content.decode()
    assert recon in page and "?date=2021-05-06&amp;format=pdf" in page
    assert reverse("report-campaign", kwargs={"campaign_id": campaign.pk, "fmt": "csv"}) in \
        client.get(reverse("knowledge-campaign", args=[campaign.pk])).content.decode()
    assert reverse("report-daily") in client.get(reverse("knowledge-index")).content.decode()
    shown = client.get(daily)
    assert shown["Content-Disposition"] == 'attachment; filename="neolight-daily-2021-05-06.csv"'
    assert f"cohort-{day_cohort.pk}/campaign-{campaign.pk}/day-1".encode() in shown.content
    response = client.get(recon)
    assert response["Content-Type"] == "text/csv" and response.content.startswith(b"row,cohort,cohort_tag")
    assert client.get(campaign_pdf).content.startswith(b"%PDF")
    assert client.get(reverse("report-daily") + "?date=nope").status_code == 400


@pytest.mark.django_db
def test_the_admin_refuses_a_recipient_with_a_bad_address(superuser, client):
    client.force_login(superuser)
    response = client.post(reverse("admin:assistant_reportrecipient_add"),
                           {"name": "desk", "emails": "ana@desk.example, not-an-address", "gets_daily": "on",
                            "is_enabled": "on"})
    assert response.status_code == 200 and "Not an e-mail address: not-an-address" in response.content.decode()
    assert not ReportRecipient.objects.exists()
    client.post(reverse("admin:assistant_reportrecipient_add"),
                {"name": "desk", "emails": "ana@desk.example\nbo@desk.example", "gets_daily": "on", "is_enabled": "on"})
    assert ReportRecipient.objects.get().addresses == ["ana@desk.example", "bo@desk.example"]
