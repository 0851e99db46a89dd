"""The cohort list's filters, one FilterSet for the page, the API and the CSV export (same fields, same messages)."""
import django_filters
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from cohorts.models import CohortStatus
from neolight.money import MONEY_DECIMAL


@extend_schema_field(serializers.DecimalField(**MONEY_DECIMAL, help_text="USD, e.g. 1000"))
class AmountFilter(django_filters.NumberFilter):
    """An amount as stored (NUMERIC(20, 8)); documented as a decimal string, as the API writes amounts."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **MONEY_DECIMAL, **kwargs)


class CohortFilter(django_filters.FilterSet):
    """Narrows visible cohorts by window day (UTC), bankroll amount and status; an empty value filters nothing."""

    date = django_filters.DateFilter(field_name="window_start", lookup_expr="date",
                                     help_text="the window's first day, UTC (YYYY-MM-DD)")
    bankroll = AmountFilter(field_name="wallet__bankroll")
    status = django_filters.ChoiceFilter(choices=CohortStatus.choices)
