"""Risk's pages and API."""
from __future__ import annotations

from django.urls import path

from risk.apis.leverage import LeverageApi

api_urlpatterns: list = [
    path("risk/leverage", LeverageApi.as_view(), name="api-risk-leverage"),
]

urlpatterns: list = []
