"""The reports as PDF: the HTML template rendered by WeasyPrint (A4, page numbers), charts as inline SVG."""
from __future__ import annotations

import logging

from django.conf import settings
from django.template.loader import render_to_string

from . import charts
from .data import Report

logging.getLogger("weasyprint.progress").setLevel(logging.WARNING)  # its steps are not news in the worker's log


def report_html(report: Report) -> str:
    """The report's printable HTML (self-contained: no stylesheet, image or script is fetched)."""
    labels = [h["hour"].strftime("%d %H:00") for h in report.hours]
    drawn = {
        "equity": charts.line_chart(labels, [float(h["equity"]) for h in report.hours], title="Equity at each hour's end"),
        "pnl": charts.bar_chart(labels, [float(h["pnl"]) for h in report.hours], title="PnL per hour"),
        "bankroll": charts.line_chart([f"cohort {b['cohort']}" for b in report.bankroll],
                                      [float(b["balance"]) for b in report.bankroll], title="Bankroll cash after each cohort"),
    }
    return render_to_string("assistant/reports/report.html", {
        "r": report, "charts": drawn, "fills_total": sum(h["fills"] for h in report.hours)})


def report_pdf(report: Report) -> bytes:
    """The report as a PDF document."""
    from weasyprint import HTML  # imported on first use: it loads Pango and fonts

    return HTML(string=report_html(report), base_url=str(settings.BASE_DIR)).write_pdf()
