"""Pages of the knowledge base: campaign history, learning cycles and decisions; one campaign day by day."""
from django.core.paginator import Paginator
from django.shortcuts import render

from knowledge.filters import EntryFilter
from knowledge.models import CycleKind, EntryKind
from knowledge.selectors import campaign_days_with_cycles, campaign_get, campaign_list, cycle_list, entry_list


def knowledge_index(request):
    """Campaigns, recent cycles, and the entries filtered by kind, campaign and text."""
    entries = EntryFilter(request.GET, queryset=entry_list(user=request.user), request=request)  # bad: shown, not applied
    page = Paginator(entries.qs, 50).get_page(request.GET.get("page"))
    return render(request, "knowledge/index.html", {
        "campaigns": list(campaign_list(user=request.user)[:50]), "cycles": list(cycle_list(user=request.user)[:20]),
        "entries": page, "kinds": EntryKind.choices, "filters": request.GET, "filter_errors": entries.errors,
    })


def campaign_detail(request, campaign_id: int):
    """One campaign: day-by-day results, the cycles after each day, and its entries."""
    campaign = campaign_get(user=request.user, campaign_id=campaign_id)
    return render(request, "knowledge/campaign_detail.html", {
        "campaign": campaign, "days": campaign_days_with_cycles(campaign),
        "cycles": list(cycle_list(user=request.user, campaign=campaign)), "daily": CycleKind.DAILY,
        "entries": list(entry_list(user=request.user, campaign_id=campaign.pk)[:200]),
    })
