"""Pages of the cohorts app."""
from django.shortcuts import render

from cohorts.selectors.market import instrument_overview


def market_overview(request):
    """The instruments stored, with their bar counts and time spans (or how to load some)."""
    return render(request, "cohorts/market_overview.html", {"instruments": list(instrument_overview())})
