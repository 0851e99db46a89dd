"""The knowledge base's entry filters (kind, campaign, text), checked like the cohort list's."""
from types import SimpleNamespace
from urllib.parse import urlencode

import django_filters
from django.core.paginator import Page, Paginator
from django.db.models import Q, QuerySet

from knowledge.models import EntryKind
from knowledge.selectors import campaign_visible, entry_list

ENTRIES_PER_PAGE = 50
FILTERS = ("kind", "campaign", "q")


class EntryFilter(django_filters.FilterSet):
    """Narrows entries by kind, by one campaign the user may see, and by text in the title or body."""

    kind = django_filters.ChoiceFilter(choices=EntryKind.choices)
    campaign = django_filters.ModelChoiceFilter(queryset=lambda request: campaign_visible(request.user))
    q = django_filters.CharFilter(method="search", help_text="text in the title or body")

    def search(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(Q(title__icontains=value) | Q(body__icontains=value))


def entry_page(*, user, params, page=1) -> tuple[Page, dict]:
    """One page of the entries `user` may see, narrowed by `params` (kind, campaign, q), and the filters'
    errors (a bad value is explained, not applied). The page's view and its live updates both read it."""
    entries = EntryFilter(params, queryset=entry_list(user=user), request=SimpleNamespace(user=user))
    return Paginator(entries.qs, ENTRIES_PER_PAGE).get_page(page), entries.errors


def entry_live_query(params) -> str:
    """The query string by which the knowledge page's websocket follows its first page of entries."""
    return urlencode({"entries": 1, **{name: params.get(name, "") for name in FILTERS}})
