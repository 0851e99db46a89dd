"""Pages of the knowledge base: campaign history, learning cycles and decisions; one campaign day by day;
starting, re-running and cancelling a campaign."""
from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from knowledge.filters import entry_live_query, entry_page
from knowledge.forms import CampaignForm
from knowledge.models import EntryKind
from knowledge.selectors import campaign_get, campaign_page, knowledge_live
from knowledge.services.campaigns import campaign_cancel, campaign_start
from neolight.errors import ApplicationError
from promotions.selectors.status import campaign_promotions


def knowledge_index(request):
    """Campaigns, recent cycles, and the entries filtered by kind, campaign and text (a bad filter is
    explained, not applied); the first page of entries follows new ones live, like the campaigns and cycles."""
    page, errors = entry_page(user=request.user, params=request.GET, page=request.GET.get("page"))
    return render(request, "knowledge/index.html", {
        **knowledge_live(user=request.user), "entries": page, "kinds": EntryKind.choices, "filters": request.GET,
        "filter_errors": errors, "live_entries": entry_live_query(request.GET) if page.number == 1 else ""})


def campaign_detail(request, campaign_id: int):
    """One campaign: headline, equity across days, per-day ROI, cycles in and out of sample; live while it runs."""
    campaign = campaign_get(user=request.user, campaign_id=campaign_id)
    return render(request, "knowledge/campaign_detail.html", {**campaign_page(user=request.user, campaign=campaign),
                                                              "promotions": campaign_promotions(campaign.pk)})


@permission_required("knowledge.add_campaign", raise_exception=True)
@require_http_methods(["GET", "POST"])
def campaign_new(request):
    """The start form (prefilled from `?from=<id>` for a re-run); errors beside their fields, nothing written."""
    source = request.GET.get("from", "")
    source = campaign_get(user=request.user, campaign_id=int(source)) if source.isdigit() else None
    form = CampaignForm(request.POST or None, campaign=source)
    if request.method == "POST" and form.is_valid():
        campaign = campaign_start(data=form.data_input, user=request.user)
        return redirect("knowledge-campaign", campaign_id=campaign.pk)
    return render(request, "knowledge/campaign_new.html", {"form": form, "source": source},
                  status=400 if form.errors else 200)


@permission_required("knowledge.add_campaign", raise_exception=True)
@require_POST
def campaign_cancel_view(request, campaign_id: int):
    """Cancels a pending or running campaign the user may see; the current day finishes or is refunded."""
    campaign = campaign_get(user=request.user, campaign_id=campaign_id)
    try:
        campaign_cancel(campaign_id=campaign.pk, user=request.user)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"{campaign} cancelled: no further day or learning cycle starts.")
    return redirect("knowledge-campaign", campaign_id=campaign.pk)
