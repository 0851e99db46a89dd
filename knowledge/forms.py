"""The campaign start form: its fields hand raw text to `campaign_input`, so the page refuses exactly
what `manage.py run_campaign` refuses, in the same words, each message beside its field."""
from __future__ import annotations

from datetime import date, timedelta

from django import forms
from django.conf import settings

from cohorts.models import AllocationPolicy, Bar
from cohorts.selectors.market import instrument_overview
from knowledge.models import Campaign
from knowledge.services.campaigns import CampaignInput, campaign_input_all
from neolight.errors import ApplicationError
from neolight.money import to_cents

# The form field beside which a refusal of each `campaign_input` argument is shown.
FIELD_OF = {"start": "start_date", "end": "days"}
# The form's fields handed to `campaign_input_all` under their own names (the start date goes as `start`).
REQUEST_FIELDS = ["name", "bankroll", "days", "policy", "symbols", "agents", "seed", "lookback_hours", "trials"]
# What stands in for a required field the form itself refused (left empty), so the others are still checked.
STAND_IN = {"bankroll": str(settings.BANKROLL_DEFAULT), "days": 1}


def symbol_spans() -> dict[str, list[str]]:
    """Each symbol with bars: the UTC dates of its first and last bar."""
    return {i.symbol: [i.first_bar_at.date().isoformat(), i.last_bar_at.date().isoformat()]
            for i in instrument_overview() if i.bar_count}


def first_campaign_day() -> date | None:
    """The second day with bars (the first is learnt from before day 1's cycle can score), or None."""
    first = Bar.objects.order_by("ts").values_list("ts", flat=True).first()
    return first.date() + timedelta(days=1) if first else None


def symbols_on(day: date) -> list[str]:
    return sorted(set(Bar.objects.filter(ts__date=day).values_list("instrument__symbol", flat=True)))


class CampaignForm(forms.Form):
    name = forms.CharField(required=False, max_length=200, help_text="optional, to find it again")
    bankroll = forms.CharField(initial=settings.BANKROLL_DEFAULT, widget=forms.NumberInput(attrs={"step": "0.01"}),
                               help_text=f"Day 1's bankroll, USD ${settings.BANKROLL_MIN:,}–${settings.BANKROLL_MAX:,}; "
                                         f"each later day starts from the day before's final equity")
    days = forms.CharField(initial=3, widget=forms.NumberInput(), help_text=f"Day 1 … Day N, 1–{settings.CAMPAIGN_MAX_DAYS}")
    start_date = forms.CharField(label="Start date", widget=forms.DateInput(attrs={"type": "date"}),
                                 help_text="Day 1: the first trading day of the symbols on or after this UTC date")
    policy = forms.ChoiceField(choices=AllocationPolicy.choices, initial=AllocationPolicy.PERFORMANCE_WEIGHTED,
                               help_text="how each day's bankroll is split between its agents")
    symbols = forms.MultipleChoiceField(required=False, widget=forms.CheckboxSelectMultiple,
                                        help_text="none ticked: every symbol with bars on Day 1")
    agents = forms.CharField(initial=settings.COHORT_AGENTS_DEFAULT, widget=forms.NumberInput(),
                             help_text=f"per day, {settings.COHORT_AGENTS_MIN}–{settings.COHORT_AGENTS_MAX}")
    lookback_hours = forms.CharField(label="Lookback (hours)", initial=settings.LEARNING_LOOKBACK_HOURS,
                                     widget=forms.NumberInput(),
                                     help_text="after each day: tune on the 2L…L hours before its end, score on the last L; 1–72")
    trials = forms.CharField(initial=settings.LEARNING_TRIALS, widget=forms.NumberInput(),
                             help_text="optuna trials per genome family in each cycle, 1–5,000")
    seed = forms.CharField(initial=7, widget=forms.NumberInput(), help_text="seed of Day 1's roster and of the learning")

    data_input: CampaignInput | None = None

    def __init__(self, *args, campaign: Campaign | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.spans = symbol_spans()  # the page re-ticks the symbols with data when the start date changes
        self.fields["symbols"].choices = [(s, s) for s in self.spans]
        if campaign is not None:  # a re-run: the same inputs
            self.initial = {"name": campaign.name, "bankroll": to_cents(campaign.bankroll), "days": campaign.days,
                            "start_date": campaign.start_date.isoformat(), "policy": campaign.policy,
                            "symbols": campaign.symbols, "agents": campaign.agents,
                            "lookback_hours": campaign.lookback_hours, "trials": campaign.trials, "seed": campaign.seed}
            return
        day = first_campaign_day()
        if day is not None:
            self.fields["start_date"].initial = day.isoformat()
            self.fields["symbols"].initial = symbols_on(day)

    def clean(self):
        """Every bad field at once, each beside its field, as far as `campaign_input_all` finds them; a
        field Django already refused is checked with a neutral value so the others still are."""
        cleaned = super().clean()
        if "start_date" in self.errors or not cleaned.get("start_date"):
            return cleaned
        request = {name: cleaned.get(name) for name in REQUEST_FIELDS if name not in self.errors}
        request |= {name: value for name, value in STAND_IN.items() if name in self.errors}
        request["symbols"] = request.get("symbols") or None
        try:
            self.data_input = campaign_input_all(start=cleaned["start_date"], **request)
        except ApplicationError as exc:
            for name, messages in exc.extra["errors"].items():
                field = FIELD_OF.get(name, name)
                for message in messages:
                    self.add_error(field if field in self.fields else None, message)
        return cleaned
