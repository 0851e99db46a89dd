"""The guided launch flow's forms: Easy (bankroll + day) and Advanced (every knob).

Both hand their input to `cohort_input`, so the page refuses exactly what the API and the command
refuse, with the message placed beside the field at fault.
"""
from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from django import forms
from django.conf import settings

from cohorts.models import AllocationPolicy, CohortMode
from cohorts.selectors.market import instrument_overview, symbols_with_bars
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


class UtcDateTimeInput(forms.DateTimeInput):
    """A browser date-time picker whose value is read and shown as UTC (the picker itself has no zone)."""

    input_type = "datetime-local"

    def __init__(self):
        super().__init__(attrs={"step": 60}, format="%Y-%m-%dT%H:%M")


class LaunchForm(forms.Form):
    """Fields and the hand-over to `cohort_input` shared by both modes."""

    # Checked by `cohort_input` alone, so the page and the API refuse a bankroll in the same words.
    bankroll = forms.CharField(initial=settings.BANKROLL_DEFAULT,
                               widget=forms.NumberInput(attrs={"step": "0.01"}),
                               help_text=f"USD, ${settings.BANKROLL_MIN:,}–${settings.BANKROLL_MAX:,}")

    launch_input: LaunchInput | None = None
    renamed: dict[str, str] = {}  # input field → form field, where their names differ

    def request(self) -> dict:
        raise NotImplementedError

    def value(self, name: str):
        """A field's cleaned value, or what was typed when the form itself refused it (so `cohort_input`
        still checks every other field, and every fault is reported at once)."""
        if name in self.errors or name not in self.cleaned_data:
            field = self.fields[name]
            return field.widget.value_from_datadict(self.data, self.files, self.add_prefix(name))
        return self.cleaned_data[name]

    def clean(self):
        cleaned = super().clean()
        try:
            self.launch_input = cohort_input(**self.request())
        except ApplicationError as exc:
            self.add_refusal(exc)
        return cleaned

    def add_refusal(self, exc: ApplicationError) -> None:
        """Places every refusal (of the input, or of the launch itself) beside its field; a field the form
        already refused keeps only the form's own message."""
        for name, messages in exc.errors.items():
            name = self.renamed.get(name, name)
            field = "day" if name in ("start", "end", "symbols") and "day" in self.fields else name
            field = field if field in self.fields else None
            if field is not None and field in self.errors:
                continue
            for message in messages:
                self.add_error(field, message)


class EasyLaunchForm(LaunchForm):
    day = forms.ChoiceField(help_text="the UTC day to trade, 00:00–24:00")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["day"].choices = trading_days()

    def request(self) -> dict:
        try:
            start = datetime.combine(datetime.fromisoformat(self.value("day")).date(), time(0), tzinfo=UTC)
        except (TypeError, ValueError):
            start = None  # the day field says why
        return {"bankroll": self.value("bankroll"), "symbols": crypto_symbols(), "start": start,
                "end": start + timedelta(days=1) if start else None}


class AdvancedLaunchForm(LaunchForm):
    agents = forms.IntegerField(initial=settings.COHORT_AGENTS_DEFAULT, help_text="10–300")
    policy = forms.ChoiceField(choices=AllocationPolicy.choices, initial=AllocationPolicy.EQUAL)
    symbols = forms.MultipleChoiceField(widget=forms.CheckboxSelectMultiple,
                                        help_text="ticked: every symbol with bars in the window shown")
    start = forms.DateTimeField(label="Start (UTC)", widget=UtcDateTimeInput(), help_text="date and time in UTC")
    end = forms.DateTimeField(label="End (UTC)", widget=UtcDateTimeInput(), help_text="date and time in UTC, exclusive")
    seed = forms.IntegerField(initial=7, help_text=f"seed of the agents' genomes, 0–{settings.COHORT_SEED_MAX:,}")
    exposure_limit = forms.DecimalField(initial=settings.COHORT_DEFAULTS["exposure_limit"],
                                        help_text=f"gross notional / parent equity, up to {settings.COHORT_EXPOSURE_LIMIT_MAX:g}")
    leverage_ceiling = forms.DecimalField(initial=settings.COHORT_DEFAULTS["leverage_ceiling"],
                                          help_text=f"per agent, up to {settings.COHORT_LEVERAGE_CEILING_MAX:g}×")
    daily_stop = forms.DecimalField(initial=settings.COHORT_DEFAULTS["daily_stop"],
                                    help_text="loss on the day that halts all (0.05 = 5%), below 1")
    # named run_mode: the page's own `mode` says Easy or Advanced
    run_mode = forms.ChoiceField(label="Run", choices=CohortMode.choices, initial=CohortMode.REPLAY, required=False,
                                 help_text="live: paper trading bar by bar as each minute's bar is stored")
    renamed = {"mode": "run_mode"}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        instruments = [i for i in instrument_overview() if i.bar_count]
        symbols = [i.symbol for i in instruments]
        self.fields["symbols"].choices = [(s, s) for s in symbols]
        # each symbol's first and last bar, so the page can re-tick the symbols with data when the window changes
        self.symbol_spans = {i.symbol: [f"{i.first_bar_at:%Y-%m-%dT%H:%M}", f"{i.last_bar_at:%Y-%m-%dT%H:%M}"]
                             for i in instruments}
        days = trading_days()
        if days:  # the latest full day with data, and every symbol that has bars in it
            start = datetime.combine(date.fromisoformat(days[0][0]), time(0), tzinfo=UTC)
            end = start + timedelta(days=1)
            self.fields["start"].initial, self.fields["end"].initial = f"{start:%Y-%m-%dT%H:%M}", f"{end:%Y-%m-%dT%H:%M}"
            self.fields["symbols"].initial = symbols_with_bars(start=start, end=end)

    def clean_start(self):
        return _as_utc(self.cleaned_data["start"])

    def clean_end(self):
        return _as_utc(self.cleaned_data["end"])

    def request(self) -> dict:
        return {name: self.value(name) for name in [
            "bankroll", "agents", "policy", "symbols", "start", "end", "seed", "exposure_limit", "leverage_ceiling",
            "daily_stop"]} | {"mode": self.value("run_mode")}


def _as_utc(moment: datetime | None) -> datetime | None:
    """The picker's wall-clock time read as UTC, whatever the server's own time zone."""
    return moment.replace(tzinfo=UTC) if moment is not None else None
