"""What every page shows in its header: the trading mode and the bankroll badge."""
from django.conf import settings

from cohorts.selectors.cohorts import bankroll_badge


def header(request) -> dict:
    if not getattr(request, "user", None) or not request.user.is_authenticated:
        return {}
    return {"trading_mode": settings.TRADING_MODE, "bankroll_badge": bankroll_badge()}
