"""Admin for campaigns, learning cycles and knowledge entries: read-only history (services write it)."""
from django.contrib import admin

from knowledge.models import Campaign, CampaignDay, KnowledgeEntry, LearningCycle
from neolight.admin import ReadOnlyAdmin, ReadOnlyInline


class CampaignDayInline(ReadOnlyInline):
    model = CampaignDay
    fields = ("number", "date", "cohort")


@admin.register(Campaign)
class CampaignAdmin(ReadOnlyAdmin):
    list_display = ("id", "name", "status", "mode", "bankroll", "days", "start_date", "policy", "created_at")
    list_filter = ("status", "mode", "policy")
    inlines = [CampaignDayInline]


@admin.register(LearningCycle)
class LearningCycleAdmin(ReadOnlyAdmin):
    list_display = ("id", "campaign", "kind", "slot", "day_number", "status", "in_sample_score",
                    "out_of_sample_score", "runtime_seconds")
    list_filter = ("kind", "status")


@admin.register(KnowledgeEntry)
class KnowledgeEntryAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "kind", "title", "campaign", "cohort")
    list_filter = ("kind",)
    search_fields = ("title", "body")
