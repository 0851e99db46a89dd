"""The house bankroll over the last days: per UTC day the capital cohorts drew, the capital that came back, and the
gain or loss on the cohorts settled that day; and its cash now."""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db.models import Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from cohorts.models import Bankroll, Cohort, CohortSettlement
from cohorts.selectors.cohorts import bankroll_badge
from neolight.money import to_cents

ZERO = Decimal(0)


def bankroll_summary(*, days: int = 7, today: date | None = None) -> dict:
    """The last `days` UTC days up to `today` (oldest first): `drawn`, `returned` and `pnl` per day as decimal
    strings, their totals, and `cash` (available now) and `at_work` (held by pending and running cohorts)."""
    today = today or timezone.now().astimezone(UTC).date()
    first = today - timedelta(days=days - 1)
    since = datetime.combine(first, datetime.min.time(), tzinfo=UTC)
    bankroll = Bankroll.objects.filter(name=settings.HOUSE_BANKROLL_NAME).first()
    drawn = _per_day(Cohort.objects.filter(source=bankroll, created_at__gte=since), "created_at", "wallet__bankroll")
    settled = CohortSettlement.objects.filter(cohort__source=bankroll, created_at__gte=since)
    returned = _per_day(settled, "created_at", "settled")
    cost = _per_day(settled, "created_at", "drawn")
    rows = []
    for n in range(days):
        day = first + timedelta(days=n)
        back, out = returned.get(day, ZERO), cost.get(day, ZERO)
        rows.append({"date": day.isoformat(), "drawn": _cents(drawn.get(day, ZERO)), "returned": _cents(back),
                     "pnl": _cents(back - out)})
    badge = bankroll_badge() or {"available": ZERO, "at_work": ZERO}
    totals = {name: _cents(sum((Decimal(r[name]) for r in rows), ZERO)) for name in ("drawn", "returned", "pnl")}
    return {"bankroll": settings.HOUSE_BANKROLL_NAME, "days": rows, "totals": totals,
            "cash": _cents(badge["available"]), "at_work": _cents(badge["at_work"])}


def _per_day(rows, when: str, amount: str) -> dict[date, Decimal]:
    sums = rows.annotate(day=TruncDate(when, tzinfo=UTC)).values("day").annotate(total=Sum(amount)).order_by()
    return {row["day"]: row["total"] or ZERO for row in sums}


def _cents(value: Decimal) -> str:
    return str(to_cents(value))
