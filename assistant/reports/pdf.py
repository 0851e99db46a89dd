"""The reports as PDF: the HTML template rendered by WeasyPrint (A4, page numbers), charts as inline SVG."""
from __future__ import annotations

import logging
from functools import cache

from django.conf import settings
from django.template.loader import render_to_string

from neolight.errors import ApplicationError

from . import charts
from .data import Report

PANGO = "Debian/Ubuntu: apt-get install libpango-1.0-0 libpangoft2-1.0-0"

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


class PdfUnavailable(ApplicationError):
    """WeasyPrint cannot load here (its system libraries are missing): PDFs cannot be made, CSVs still can."""

    status_code = 503


@cache
def pdf_unavailable() -> str | None:
    """Why PDFs cannot be made on this machine, or None when they can (WeasyPrint needs Pango, a system library)."""
    try:
        import weasyprint  # noqa: F401  (loads Pango and fonts)
    except (ImportError, OSError) as exc:
        return f"PDF reports need Pango, which this machine lacks ({PANGO}): {exc}".splitlines()[0][:300]
    return None


def report_pdf(report: Report) -> bytes:
    """The report as a PDF document; PdfUnavailable when WeasyPrint cannot load here."""
    reason = pdf_unavailable()
    if reason is not None:
        raise PdfUnavailable(reason, field="format")
    from weasyprint import HTML

    return HTML(string=report_html(report), base_url=str(settings.BASE_DIR)).write_pdf()
