"""The daily report as PDF and CSV: the sections a reader looks for, figures as traders read them, stable CSV
columns, formula injection neutralised, and an explicit empty report for a quiet day."""
from __future__ import annotations

import csv
import io
import subprocess
from datetime import date

import pytest

from assistant.reports.csvfile import REPORT_COLUMNS, report_csv
from assistant.reports.data import report_campaign, report_daily
from assistant.reports.pdf import report_pdf
from neolight.errors import ApplicationError
from tests.assistant.reports.conftest import DAY, needs_pdf, needs_poppler

pytestmark = [needs_pdf, needs_poppler]  # PDFs are made (and read) here; without Pango the CSV paths are tested elsewhere

SECTIONS = ["Summary", "Hourly breakdown", "Leaderboard", "Leverage decisions", "Bankroll trend",
            "Approvals and signatures", "Compliance notes", "Assistant commentary", "Post-mortems"]


def pdf_pages(pdf: bytes, tmp_path) -> tuple[list, str]:
    """The PDF rendered to PNG pages (pdftoppm) and its text (pdftotext)."""
    path = tmp_path / "report.pdf"
    path.write_bytes(pdf)
    subprocess.run(["pdftoppm", "-r", "40", "-png", str(path), str(tmp_path / "page")], check=True)
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], check=True, capture_output=True, text=True).stdout
    return sorted(tmp_path.glob("page*.png")), text


def rows_of(data: bytes) -> list[dict]:
    return list(csv.DictReader(io.StringIO(data.decode())))


@pytest.mark.django_db
def test_the_daily_pdf_renders_every_section_with_the_days_figures(day_story, tmp_path):
    report = report_daily(day=DAY)
    pages, text = pdf_pages(report_pdf(report), tmp_path)

    assert pages and all(p.read_bytes().startswith(b"\x89PNG") and p.stat().st_size > 1000 for p in pages)
    assert "Daily report — Thursday 06 May 2021 (UTC)" in text
    positions = [text.index(s) for s in SECTIONS]
    assert positions == sorted(positions)  # every section, in order
    assert f"Page 1 of {len(pages)}" in text
    cohort = report.cohorts[0]
    assert f"${cohort['bankroll']:,.2f}" in text and f"${cohort['final_equity']:,.2f}" in text
    assert "2.00× " in text and "3.00×" in text and "Sharpe 2.1 over 3 hours" in text  # the leverage decision
    assert "olivia" in text and "f00dfeed1111" in text  # the signer and the signature's hash prefix
    assert "HYPERLINK" in text  # the compliance note, shown as written
    assert f"Cohort {day_story.pk} finished." in text and "Post-mortem: kill switch at 02:10" in text
    assert "Empty report" not in text


@pytest.mark.django_db
def test_the_daily_csv_has_stable_columns_and_neutralised_formulas(day_story):
    report = report_daily(day=DAY)
    data = report_csv(report)
    assert data.decode().splitlines()[0] == ",".join(REPORT_COLUMNS) == \
        "section,period,at,cohort,agent,item,value,detail"
    rows = rows_of(data)
    assert {r["period"] for r in rows} == {"2021-05-06"}
    sections = {r["section"] for r in rows}
    assert {"report", "cohort", "hour", "leaderboard", "leverage", "bankroll", "approval", "signature", "compliance",
            "commentary", "post_mortem"} <= sections
    [note] = [r for r in rows if r["section"] == "compliance" and "HYPERLINK" in r["detail"]]
    assert note["detail"] == "'=HYPERLINK(\"http://evil.example\")"  # shown as text, not run as a formula
    assert not any(v.startswith(("=", "+", "@", "\t", "\r")) for r in rows for v in r.values())
    pnl = [r for r in rows if r["section"] == "cohort" and r["item"] == "pnl"][0]
    assert pnl["value"] == f"{report.cohorts[0]['pnl']:.2f}"  # a negative amount stays a number
    hours = [r for r in rows if r["section"] == "hour" and r["item"] == "fills"]
    assert len(hours) == 3 and sum(int(r["value"]) for r in hours) == day_story.fills.count()


@pytest.mark.django_db
def test_a_quiet_day_gives_an_explicit_empty_report(day_cohort, tmp_path):
    report = report_daily(day=date(2021, 5, 9))
    assert report.is_empty
    rows = rows_of(report_csv(report))
    assert [r["item"] for r in rows if r["section"] == "report"] == ["title", "period_start", "period_end", "empty"]
    _, text = pdf_pages(report_pdf(report), tmp_path)
    assert "Empty report: nothing traded or was decided in this period." in text
    assert "No cohort traded in this period." in text and "No post-mortems in this period." in text


@pytest.mark.django_db
def test_a_campaign_report_covers_its_days_cohorts(day_story):
    from knowledge.models import CampaignDay
    from tests.factories import CampaignFactory

    campaign = CampaignFactory(status="completed")
    CampaignDay.objects.create(campaign=campaign, number=1, date=DAY, cohort=day_story)
    report = report_campaign(campaign_id=campaign.pk)
    assert [c["tag"] for c in report.cohorts] == [f"cohort-{day_story.pk}/campaign-{campaign.pk}/day-1"]
    assert report.leverage and report.approvals and report.post_mortems
    with pytest.raises(ApplicationError) as refused:
        report_campaign(campaign_id=campaign.pk + 100)
    assert refused.value.field == "campaign"
