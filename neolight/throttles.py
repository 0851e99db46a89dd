"""API throttles: request budgets kept in Django's cache (Redis in production, shared by every process).

Rates come from REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"] and are read on each request, so a changed
setting applies at once (DRF's own classes freeze them when first imported).
"""
from rest_framework.settings import api_settings
from rest_framework.throttling import AnonRateThrottle, UserRateThrottle


class SettingsRateMixin:
    scope: str

    def get_rate(self) -> str | None:
        return api_settings.DEFAULT_THROTTLE_RATES[self.scope]


class AnonThrottle(SettingsRateMixin, AnonRateThrottle):
    """Requests without a login, counted per client address."""


class UserThrottle(SettingsRateMixin, UserRateThrottle):
    """Requests of a logged-in user (session or token), counted per user."""


class LaunchThrottle(SettingsRateMixin, UserRateThrottle):
    """Cohort launches (POST) of a user; other methods of the same endpoint are not counted here."""

    scope = "launch"

    def allow_request(self, request, view) -> bool:
        return request.method != "POST" or super().allow_request(request, view)
