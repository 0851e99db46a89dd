"""The assistant's pages and API."""
from __future__ import annotations

from django.urls import path, re_path

from assistant.reports import views as report_views

api_urlpatterns: list = []

urlpatterns: list = []

# --- reports: downloads (assistant/reports/views.py) ---
urlpatterns += [
    path("reports/daily", report_views.report_daily_download, name="report-daily"),
    re_path(r"^reports/campaigns/(?P<campaign_id>[0-9]+)\.(?P<fmt>csv|pdf)$", report_views.report_campaign_download,
            name="report-campaign"),
    path("reports/cohorts/<int:cohort_id>/reconciliation.csv", report_views.report_reconciliation_download,
         name="report-reconciliation"),
]
