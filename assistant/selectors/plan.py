"""A grow plan, day by day: the expected return range from history, the leverage tier the ladder could reach,
the bankroll at risk and the day of the Day-3 review.

- Expected return: the 10th–90th percentile of the daily ROI of the latest completed cohorts (HISTORY of them),
  compounded from the bankroll; none without history (the plan says so).
- Leverage: the ladder (risk.selectors.leverage) starts a new campaign at its start tier (`current_tier`) and
  steps up at most once per completed day by `step_up`, never above its cap nor the plan's max leverage.
- Bankroll at risk: an estimate, not a VaR run (no curves exist before day 1): the day's starting bankroll (at
  the high end of the range) times the larger of the daily stop (which flattens a day at that loss) and the
  worst daily loss on record.
"""
from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import numpy as np
from django.conf import settings

from cohorts.models import Cohort, CohortStatus
from cohorts.selectors.market import trading_day_window
from knowledge.models import Campaign
from risk.selectors.leverage import current_tier, ladder_default

HISTORY = 60  # completed cohorts whose daily ROI makes the expected range
CENT = Decimal("0.01")


def return_history() -> dict:
    """Daily ROI percentiles (10th, 50th, 90th) and the worst day of the latest completed cohorts; `count` 0 if none."""
    rois = np.array([r for r in Cohort.objects.filter(status=CohortStatus.COMPLETED, roi__isnull=False)
                    .order_by("-finished_at", "-id").values_list("roi", flat=True)[:HISTORY]], dtype=float)
    if rois.size == 0:
        return {"count": 0, "low": None, "median": None, "high": None, "worst": None}
    low, median, high = np.percentile(rois, [10, 50, 90])
    return {"count": int(rois.size), "low": float(low), "median": float(median), "high": float(high),
            "worst": float(rois.min())}


def grow_plan(*, campaign: Campaign, max_leverage: Decimal) -> dict:
    """The plan of a grow campaign (amounts as decimal strings, ratios as fractions), one row per day."""
    history = return_history()
    ladder = ladder_default()
    start_tier = min(current_tier(campaign=campaign), max_leverage)
    stop = Decimal(str(settings.COHORT_DEFAULTS["daily_stop"]))
    worst = Decimal(str(-history["worst"])) if history["worst"] is not None and history["worst"] < 0 else Decimal(0)
    loss = max(stop, worst)
    low = high = campaign.bankroll
    rows = []
    for number in range(1, campaign.days + 1):
        day, _, _ = trading_day_window(symbols=campaign.symbols, first=campaign.start_date, number=number)
        tier = min(start_tier + ladder.step_up * (number - 1), ladder.cap, max_leverage)
        row = {"day": number, "date": day.isoformat(), "start_low": _cents(low), "start_high": _cents(high),
               "leverage_tier": f"{tier:g}", "at_risk": _cents(high * loss),
               "is_review": number == settings.PROMOTION_DAY}
        if history["count"]:
            low = low * (1 + Decimal(str(history["low"])))
            high = high * (1 + Decimal(str(history["high"])))
            row.update({"return_low": history["low"], "return_high": history["high"], "end_low": _cents(low),
                        "end_high": _cents(high)})
        else:
            row.update({"return_low": None, "return_high": None, "end_low": None, "end_high": None})
        rows.append(row)
    return {"campaign": campaign.pk, "bankroll": _cents(campaign.bankroll), "days": campaign.days,
            "start": campaign.start_date.isoformat(), "mode": campaign.mode, "symbols": list(campaign.symbols),
            "max_leverage": f"{max_leverage:g}", "ladder": {"start": f"{ladder.start:g}", "step_up": f"{ladder.step_up:g}",
                                                           "cap": f"{ladder.cap:g}"},
            "daily_stop": float(stop), "history": history, "review_day": settings.PROMOTION_DAY
            if campaign.days >= settings.PROMOTION_DAY else None,
            "note": "" if history["count"] else "No completed cohorts yet: there is no history to expect a return from.",
            "rows": rows}


def _cents(value: Decimal) -> str:
    return str(value.quantize(CENT, ROUND_HALF_UP))
