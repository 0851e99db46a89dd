"""Download views of the reports: a page login is required (the site's middleware), and each report shows only
what the user may see (cohorts' and campaigns' visibility rules); a hidden cohort or campaign is a 404."""
from __future__ import annotations

from django.http import HttpResponse, HttpResponseBadRequest
from django.views.decorators.http import require_GET

from cohorts.selectors.cohorts import cohort_get
from knowledge.selectors import campaign_get
from neolight.errors import ApplicationError

from .csvfile import reconciliation_csv
from .data import parse_day, report_campaign, report_daily
from .delivery import report_files
from .pdf import pdf_unavailable
from .reconciliation import reconciliation

FORMATS = ("csv", "pdf")


def _download(report, fmt: str) -> HttpResponse:
    if fmt == "pdf" and (missing := pdf_unavailable()):
        return HttpResponse(missing, status=503, content_type="text/plain; charset=utf-8")
    [file] = report_files(report, (fmt,))
    response = HttpResponse(file.content, content_type=file.mimetype)
    response["Content-Disposition"] = f'attachment; filename="{file.name}"'
    return response


@require_GET
def report_daily_download(request):
    """?date=YYYY-MM-DD&format=csv|pdf: the daily report of that UTC date, as the user may see it."""
    fmt = request.GET.get("format", "pdf")
    try:
        day = parse_day(request.GET.get("date", ""))
    except ApplicationError as exc:
        return HttpResponseBadRequest(exc.message)
    if fmt not in FORMATS:
        return HttpResponseBadRequest("The format is csv or pdf.")
    return _download(report_daily(day=day, user=request.user), fmt)


@require_GET
def report_campaign_download(request, campaign_id: int, fmt: str):
    """A campaign's report (CSV or PDF); 404 for a campaign the user may not see."""
    campaign = campaign_get(user=request.user, campaign_id=int(campaign_id))
    return _download(report_campaign(campaign_id=campaign.pk, user=request.user), fmt)


@require_GET
def report_reconciliation_download(request, cohort_id: int):
    """A cohort's reconciliation export (CSV); 404 for a cohort the user may not see."""
    cohort = cohort_get(user=request.user, cohort_id=cohort_id)
    response = HttpResponse(reconciliation_csv(reconciliation([cohort])), content_type="text/csv")
    response["Content-Disposition"] = f'attachment; filename="neolight-reconciliation-cohort-{cohort.pk}.csv"'
    return response
