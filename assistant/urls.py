"""The assistant's pages and API."""
from __future__ import annotations

api_urlpatterns: list = []

urlpatterns: list = []
