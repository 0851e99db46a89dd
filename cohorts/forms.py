"""The guided launch flow's forms: Easy (bankroll + day) and Advanced (every knob).

Both hand their input to `cohort_input`, so the page refuses exactly what the API and the command
refuse, with the message placed beside the field at fault.
"""
from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from decimal import Decimal

from django import forms
from django.conf import settings

from cohorts.models import AllocationPolicy
from cohorts.selectors.market import instrument_overview
from cohorts.services.inputs import LaunchInput, cohort_input
from neolight.errors import ApplicationError


def trading_days() -> list[tuple[str, str]]:
    """Whole UTC days on which every crypto instrument has bars, newest first, as form choices."""
    spans = [(i.first_bar_at, i.last_bar_at) for i in instrument_overview() if i.asset_class == "crypto" and i.bar_count]
    if not spans:
        return []
    first = max(s for s, _ in spans).date()
    last = min(e for _, e in spans).date()
    days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    return [(d.isoformat(), d.strftime("%a %d %b %Y")) for d in reversed(days)]


def crypto_symbols() -> list[str]:
    return [i.symbol for i in instrument_overview() if i.asset_class == "crypto" and i.bar_count]


class LaunchForm(forms.Form):
    """Fields and the hand-over to `cohort_input` shared by both modes."""

    bankroll = forms.DecimalField(min_value=Decimal(1), decimal_places=2, initial=settings.BANKROLL_DEFAULT,
                                  help_text=f"USD, ${settings.BANKROLL_MIN:,}–${settings.BANKROLL_MAX:,}")

    launch_input: LaunchInput | None = None

    def request(self) -> dict:
        raise NotImplementedError

    def clean(self):
        cleaned = super().clean()
        if self.errors:
            return cleaned
        try:
            self.launch_input = cohort_input(**self.request())
        except ApplicationError as exc:
            self.add_refusal(exc)
        return cleaned

    def add_refusal(self, exc: ApplicationError) -> None:
        """Places a refusal (of the input, or of the launch itself) beside the field at fault."""
        field = "day" if exc.field in ("start", "end", "symbols") and "day" in self.fields else exc.field
        self.add_error(field if field in self.fields else None, exc.message)


class EasyLaunchForm(LaunchForm):
    day = forms.ChoiceField(help_text="the UTC day to trade, 00:00–24:00")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["day"].choices = trading_days()

    def request(self) -> dict:
        start = datetime.combine(datetime.fromisoformat(self.cleaned_data["day"]).date(), time(0), tzinfo=UTC)
        return {"bankroll": self.cleaned_data["bankroll"], "symbols": crypto_symbols(), "start": start,
                "end": start + timedelta(days=1)}


class AdvancedLaunchForm(LaunchForm):
    agents = forms.IntegerField(initial=settings.COHORT_AGENTS_DEFAULT, help_text="10–300")
    policy = forms.ChoiceField(choices=AllocationPolicy.choices, initial=AllocationPolicy.EQUAL)
    symbols = forms.MultipleChoiceField(widget=forms.CheckboxSelectMultiple)
    start = forms.DateTimeField(help_text="UTC, e.g. 2021-05-10 00:00")
    end = forms.DateTimeField(help_text="UTC, exclusive")
    seed = forms.IntegerField(initial=7, help_text=f"seed of the agents' genomes, 0–{settings.COHORT_SEED_MAX:,}")
    exposure_limit = forms.DecimalField(initial=settings.COHORT_DEFAULTS["exposure_limit"],
                                        help_text=f"gross notional / parent equity, up to {settings.COHORT_EXPOSURE_LIMIT_MAX:g}")
    leverage_ceiling = forms.DecimalField(initial=settings.COHORT_DEFAULTS["leverage_ceiling"],
                                          help_text=f"per agent, up to {settings.COHORT_LEVERAGE_CEILING_MAX:g}×")
    daily_stop = forms.DecimalField(initial=settings.COHORT_DEFAULTS["daily_stop"],
                                    help_text="loss on the day that halts all (0.05 = 5%), below 1")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        symbols = [i.symbol for i in instrument_overview() if i.bar_count]
        self.fields["symbols"].choices = [(s, s) for s in symbols]
        self.fields["symbols"].initial = crypto_symbols()[:2]
        days = trading_days()
        if days:
            start = datetime.fromisoformat(days[0][0])
            self.fields["start"].initial, self.fields["end"].initial = start, start + timedelta(days=1)

    def request(self) -> dict:
        return {name: self.cleaned_data[name] for name in [
            "bankroll", "agents", "policy", "symbols", "start", "end", "seed", "exposure_limit", "leverage_ceiling",
            "daily_stop"]}
