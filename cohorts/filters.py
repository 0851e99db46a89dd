"""The cohort list's filters, one FilterSet for the page, the API and the CSV export (same fields, same messages)."""
import django_filters

from cohorts.models import CohortStatus
from neolight.money import MONEY_DIGITS, MONEY_PLACES


class CohortFilter(django_filters.FilterSet):
    """Narrows visible cohorts by window day (UTC), bankroll amount and status; an empty value filters nothing."""

    date = django_filters.DateFilter(field_name="window_start", lookup_expr="date",
                                     help_text="the window's first day, UTC (YYYY-MM-DD)")
    bankroll = django_filters.NumberFilter(field_name="wallet__bankroll", max_digits=MONEY_DIGITS,
                                           decimal_places=MONEY_PLACES, help_text="USD drawn at launch, e.g. 1000")
    status = django_filters.ChoiceFilter(choices=CohortStatus.choices)
