"""The risk admin: guardian. Breakers and their events, the kill switch and its events, trading-mode changes: all
read-only (written by the services); a breaker's page has a Reset button (reason required) that calls
`breaker_reset` as the signed-in user, who must be allowed to reset it."""
from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseNotAllowed
from django.shortcuts import redirect
from django.urls import path, reverse

from neolight.admin import ReadOnlyAdmin, ReadOnlyInline
from neolight.errors import ApplicationError
from risk.models import Breaker, BreakerEvent, KillSwitch, KillSwitchEvent, ModeChange
from risk.services.guardian import breaker_reset


class BreakerEventInline(ReadOnlyInline):
    model = BreakerEvent
    fields = ("created_at", "from_state", "to_state", "reason", "actor", "data")
    ordering = ("-created_at", "-id")


@admin.register(Breaker)
class BreakerAdmin(ReadOnlyAdmin):
    list_display = ("id", "rule", "subject_kind", "deployment", "cohort", "state", "reason", "opened_at", "recovers_at")
    list_filter = ("state", "rule", "subject_kind")
    list_select_related = ("deployment", "cohort")
    readonly_fields = ("subject_kind", "deployment", "cohort", "bankroll", "campaign", "rule", "state", "reason",
                       "opened_at", "recovers_at", "data", "updated_at")
    inlines = [BreakerEventInline]
    change_form_template = "admin/risk/breaker/change_form.html"

    def get_urls(self):
        return [path("<int:breaker_id>/reset/", self.admin_site.admin_view(self.reset_view), name="risk_breaker_reset"),
                *super().get_urls()]

    def reset_view(self, request, breaker_id: int):
        """Calls `breaker_reset` with the posted reason; the service checks who may."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not self.has_view_permission(request):
            raise PermissionDenied
        try:
            breaker_reset(breaker_id=breaker_id, user=request.user, reason=request.POST.get("reason", ""))
        except ApplicationError as refusal:
            messages.error(request, refusal.message)
        else:
            messages.success(request, f"Breaker {breaker_id} reset to active.")
        return redirect(reverse("admin:risk_breaker_change", args=[breaker_id]))


@admin.register(BreakerEvent)
class BreakerEventAdmin(ReadOnlyAdmin):
    list_display = ("id", "breaker", "from_state", "to_state", "reason", "actor", "created_at")
    list_filter = ("to_state",)
    list_select_related = ("breaker", "actor")


@admin.register(KillSwitch)
class KillSwitchAdmin(ReadOnlyAdmin):
    list_display = ("id", "engaged", "reason", "changed_by", "changed_at")


@admin.register(KillSwitchEvent)
class KillSwitchEventAdmin(ReadOnlyAdmin):
    list_display = ("id", "engaged", "reason", "actor", "created_at")
    list_filter = ("engaged",)
    list_select_related = ("actor",)


@admin.register(ModeChange)
class ModeChangeAdmin(ReadOnlyAdmin):
    list_display = ("id", "deployment", "from_mode", "to_mode", "automatic", "reason", "request", "actor", "created_at")
    list_filter = ("to_mode", "automatic")
    list_select_related = ("deployment", "request", "actor")
