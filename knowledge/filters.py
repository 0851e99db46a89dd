"""The knowledge base's entry filters (kind, campaign, text), checked like the cohort list's."""
import django_filters
from django.db.models import Q, QuerySet

from knowledge.models import EntryKind
from knowledge.selectors import campaign_visible


class EntryFilter(django_filters.FilterSet):
    """Narrows entries by kind, by one campaign the user may see, and by text in the title or body."""

    kind = django_filters.ChoiceFilter(choices=EntryKind.choices)
    campaign = django_filters.ModelChoiceFilter(queryset=lambda request: campaign_visible(request.user))
    q = django_filters.CharFilter(method="search", help_text="text in the title or body")

    def search(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(Q(title__icontains=value) | Q(body__icontains=value))
