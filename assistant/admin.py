"""The assistant's admin: report recipients (who gets which reports by e-mail) and the deliveries made (read-only)."""
from django.contrib import admin

from assistant.models import ReportDelivery, ReportRecipient
from neolight.admin import ReadOnlyAdmin


@admin.register(ReportRecipient)
class ReportRecipientAdmin(admin.ModelAdmin):
    list_display = ("name", "emails", "gets_daily", "gets_campaign", "is_enabled", "created_at")
    list_filter = ("is_enabled", "gets_daily", "gets_campaign")
    search_fields = ("name", "emails")


@admin.register(ReportDelivery)
class ReportDeliveryAdmin(ReadOnlyAdmin):
    list_display = ("kind", "period", "recipient", "status", "attempts", "sent_at", "error")
    list_filter = ("kind", "status")
    search_fields = ("period", "recipient__name")
    list_select_related = ("recipient",)
