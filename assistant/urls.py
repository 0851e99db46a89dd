"""The assistant's pages and API."""
from __future__ import annotations

from django.urls import path, re_path

from assistant import views
from assistant.apis import ask as ask_apis
from assistant.apis import cohorts as cohort_apis
from assistant.apis import grow as grow_apis
from assistant.reports import views as report_views

api_urlpatterns: list = [
    path("assistant/ask", ask_apis.AskApi.as_view(), name="api-assistant-ask"),
    path("assistant/confirm", ask_apis.ConfirmApi.as_view(), name="api-assistant-confirm"),
    path("assistant/intents/grow", grow_apis.GrowApi.as_view(), name="api-assistant-grow"),
    path("assistant/cohorts/status", cohort_apis.CohortsStatusApi.as_view(), name="api-assistant-cohorts-status"),
    path("assistant/cohorts/bankroll-summary", cohort_apis.BankrollSummaryApi.as_view(),
         name="api-assistant-bankroll-summary"),
    path("assistant/cohorts/<int:cohort_id>/promotion-readiness", cohort_apis.PromotionReadinessApi.as_view(),
         name="api-assistant-readiness"),
]

urlpatterns: list = [
    path("assistant/", views.console, name="assistant-console"),
    path("assistant/ask", views.console_ask, name="assistant-console-ask"),
    # reports: downloads (assistant/reports/views.py)
    path("reports/daily", report_views.report_daily_download, name="report-daily"),
    re_path(r"^reports/campaigns/(?P<campaign_id>[0-9]+)\.(?P<fmt>csv|pdf)$", report_views.report_campaign_download,
            name="report-campaign"),
    path("reports/cohorts/<int:cohort_id>/reconciliation.csv", report_views.report_reconciliation_download,
         name="report-reconciliation"),
]
