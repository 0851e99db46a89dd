"""Risk's pages and API."""
from __future__ import annotations

from django.urls import path

from risk import views
from risk.apis.governor import AllocationsApi
from risk.apis.leverage import LeverageApi
from risk.apis.var import VarApi

api_urlpatterns: list = [
    path("risk/leverage", LeverageApi.as_view(), name="api-risk-leverage"),
    path("risk/var", VarApi.as_view(), name="api-risk-var"),
    path("governor/allocations", AllocationsApi.as_view(), name="api-governor-allocations"),
]

urlpatterns: list = [
    path("risk/leverage", views.risk_leverage, name="risk-leverage"),
    path("risk/kill-switch", views.kill_switch, name="risk-kill-switch"),
]
