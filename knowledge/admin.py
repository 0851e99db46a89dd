"""Admin for campaigns, learning cycles and knowledge entries: read-only history (services write it)."""
from django.contrib import admin

from knowledge.models import Campaign, CampaignDay, KnowledgeEntry, LearningCycle
from neolight import formats
from neolight.admin import ReadOnlyAdmin, ReadOnlyInline


class CampaignDayInline(ReadOnlyInline):
    model = CampaignDay
    fields = ("number", "date", "cohort")


@admin.register(Campaign)
class CampaignAdmin(ReadOnlyAdmin):
    list_display = ("id", "name", "status", "mode", "bankroll_shown", "days", "start_date", "policy", "created_at")
    list_filter = ("status", "mode", "policy")
    inlines = [CampaignDayInline]

    @admin.display(description="bankroll", ordering="bankroll")
    def bankroll_shown(self, obj):
        return formats.money(obj.bankroll)


@admin.register(LearningCycle)
class LearningCycleAdmin(ReadOnlyAdmin):
    list_display = ("id", "campaign", "kind", "slot", "day_number", "status", "in_sample", "out_of_sample",
                    "runtime_seconds")
    list_filter = ("kind", "status")

    @admin.display(description="in-sample score", ordering="in_sample_score")
    def in_sample(self, obj):
        return formats.number(obj.in_sample_score, 3)

    @admin.display(description="out-of-sample score", ordering="out_of_sample_score")
    def out_of_sample(self, obj):
        return formats.number(obj.out_of_sample_score, 3)


@admin.register(KnowledgeEntry)
class KnowledgeEntryAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "kind", "title", "campaign", "cohort")
    list_filter = ("kind",)
    search_fields = ("title", "body")
