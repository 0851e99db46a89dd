"""The risk admin: the leverage ladders (editable, checked by the pure policy) and their decisions (read-only)."""
from __future__ import annotations

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError

from neolight.admin import ReadOnlyAdmin
from risk.models import LeverageDecision, LeverageLadder

POLICY_FIELDS = ("start", "step_up", "step_down", "cap", "floor", "up_sharpe", "up_max_drawdown", "window",
                 "down_drawdown", "down_consecutive_losses")


class LeverageLadderForm(forms.ModelForm):
    class Meta:
        model = LeverageLadder
        fields = ["name", "is_default", *POLICY_FIELDS]

    def clean(self):
        """The thresholds must make a policy the engine accepts; the first one it names carries the message."""
        cleaned = super().clean()
        values = {name: cleaned[name] for name in POLICY_FIELDS if cleaned.get(name) is not None}
        if len(values) < len(POLICY_FIELDS):
            return cleaned  # a field's own error is already shown
        try:
            LeverageLadder(**values).policy()
        except ValueError as exc:
            message = str(exc)
            first = message.split(" ", 1)[0]
            named = ([name for name in ("step_up", "step_down") if values[name] <= 0] if first == "steps"
                     else [name for name in POLICY_FIELDS if first == name])
            raise ValidationError({named[0] if named else None: message}) from None
        return cleaned


@admin.register(LeverageLadder)
class LeverageLadderAdmin(admin.ModelAdmin):
    form = LeverageLadderForm
    list_display = ["name", "is_default", "start", "step_up", "step_down", "floor", "cap", "up_sharpe",
                    "up_max_drawdown", "window", "down_drawdown", "down_consecutive_losses", "updated_at"]
    list_filter = ["is_default"]
    fieldsets = [
        (None, {"fields": ["name", "is_default"]}),
        ("Tiers (×)", {"fields": ["start", "step_up", "step_down", "floor", "cap"]}),
        ("Step up when", {"fields": ["up_sharpe", "up_max_drawdown", "window"]}),
        ("Step down when", {"fields": ["down_drawdown", "down_consecutive_losses"]}),
    ]


@admin.register(LeverageDecision)
class LeverageDecisionAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "subject_label", "rule", "from_tier", "to_tier", "status", "applied_at", "request",
                    "rationale"]
    list_filter = ["subject_kind", "rule", "status", "ladder"]
    search_fields = ["rationale"]
    date_hierarchy = "created_at"
    list_select_related = ["ladder", "request"]
    fields = ["subject_kind", "bankroll", "cohort", "campaign", "deployment", "ladder", "rule", "from_tier", "to_tier",
              "status", "rationale", "inputs", "request", "actor", "created_at", "applied_at"]
    readonly_fields = fields

    @admin.display(description="subject")
    def subject_label(self, decision: LeverageDecision) -> str:
        return decision.subject_label
