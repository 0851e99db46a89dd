"""Pages of the cohorts app: market data, the cohort list, the guided launch, cohort and agent detail."""
from django.contrib.auth.decorators import permission_required
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.utils.functional import SimpleLazyObject
from django.views.decorators.http import require_http_methods

from cohorts import fragments
from cohorts.filters import CohortFilter
from cohorts.forms import AdvancedLaunchForm, EasyLaunchForm
from cohorts.providers.registry import market_data
from cohorts.selectors import charts
from cohorts.selectors.cohorts import (
    LEADERBOARD_SORTS,
    agent_entries,
    agent_fills,
    agent_get,
    cohort_get,
    cohort_leaderboard,
    cohort_list_rows,
    cohort_running_figures,
)
from cohorts.selectors.events import EVENTS_PER_PAGE, LOG_KINDS, cohort_event_log, cohort_events, event_rows
from cohorts.selectors.market import instrument_overview
from cohorts.services.cohorts import cohort_launch
from neolight.errors import ApplicationError
from promotions.selectors.status import cohort_promotion

PAGE_SIZE = 25
LEADERBOARD_ROWS = 50  # a larger cohort's page lists its best 50 by the sort chosen, and links to all


def market_overview(request):
    """The instruments stored, with their bar counts and time spans (or how to load some)."""
    return render(request, "cohorts/market_overview.html", {"instruments": list(instrument_overview())})


def cohort_list_page(request):
    """Cohorts with filters (day, bankroll, status) and pages; an empty state says how to start."""
    filters = CohortFilter(request.GET, queryset=cohort_list_rows(user=request.user))  # a bad filter is shown, not applied
    page = Paginator(filters.qs, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "cohorts/list.html", {
        "page": page, "filters": request.GET, "filter_errors": filters.errors, "statuses": ["pending", "running",
                                                                                           "completed", "failed"]})


@permission_required("cohorts.add_cohort", raise_exception=True)
@require_http_methods(["GET", "POST"])
def cohort_launch_page(request):
    """The guided launch: Easy (bankroll and day) or Advanced (every knob); errors beside the fields."""
    mode = request.POST.get("mode") or request.GET.get("mode", "easy")
    form_class = AdvancedLaunchForm if mode == "advanced" else EasyLaunchForm
    form = form_class(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            cohort = cohort_launch(data=form.launch_input, user=request.user)
        except ApplicationError as exc:  # e.g. the bankroll it draws from cannot cover it
            form.add_refusal(exc)
        else:
            return redirect("cohort-detail", cohort_id=cohort.pk)
    return render(request, "cohorts/launch.html", {"form": form, "mode": mode}, status=400 if form.errors else 200)


def cohort_detail_page(request, cohort_id: int):
    """A cohort: curves, utilisation, leaderboard, risk gauges, alerts, correlations; live while it runs."""
    cohort = cohort_get(user=request.user, cohort_id=cohort_id)
    sort = request.GET["sort"] if request.GET.get("sort") in LEADERBOARD_SORTS else "roi"
    listing_all = request.GET.get("agents") == "all"
    every = listing_all or cohort.agent_count <= LEADERBOARD_ROWS
    agents = cohort_leaderboard(cohort, sort)  # querysets and charts: read only if not served from the cache
    return render(request, "cohorts/detail.html", {
        "cohort": cohort, "agents": agents if every else agents[:LEADERBOARD_ROWS], "every": every, "listing_all": listing_all,
        "sort": sort, "sorts": list(LEADERBOARD_SORTS), "events": SimpleLazyObject(lambda: cohort_event_log(cohort)),
        "charts": charts.CohortCharts(cohort), "fragments": fragments.version(),
        "promotion": SimpleLazyObject(lambda: cohort_promotion(cohort.pk)),
        "running": cohort_running_figures(cohort) if cohort.status == "running" else None})


def cohort_events_page(request, cohort_id: int):
    """A cohort's whole event log, one kind at a time (`LOG_KINDS`), a page at a time, in time order."""
    cohort = cohort_get(user=request.user, cohort_id=cohort_id)
    kind = request.GET["kind"] if request.GET.get("kind") in LOG_KINDS else "all"
    page = Paginator(cohort_events(cohort, kind), EVENTS_PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "cohorts/events.html", {
        "cohort": cohort, "kind": kind, "kind_label": LOG_KINDS[kind], "kinds": LOG_KINDS, "page": page, "rows": event_rows(cohort, page)})


def agent_detail_page(request, cohort_id: int, index: int):
    """One agent: candles of a symbol marked with its fills, its trades, its ledger and its equity."""
    cohort = cohort_get(user=request.user, cohort_id=cohort_id)
    agent = agent_get(cohort=cohort, index=index)
    symbol = request.GET.get("symbol") if request.GET.get("symbol") in cohort.symbols else cohort.symbols[0]
    return render(request, "cohorts/agent.html", {
        "cohort": cohort, "agent": agent, "symbol": symbol, "fills": agent_fills(agent),
        "entries": agent_entries(agent), "chart": charts.agent_chart_data(cohort, agent, symbol)})


def provider_status_page(request):
    """Each market-data provider in the chain's order: its breaker, last error, latency and calls (no provider call)."""
    providers = market_data().status()
    return render(request, "cohorts/providers.html", {
        "providers": providers, "any_configured": any(p.configured for p in providers)})
