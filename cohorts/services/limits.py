"""Per-user limits on launching cohorts, so one trader cannot tie up the shared bankroll."""
from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import Count, Sum

from cohorts.models import Cohort, CohortStatus
from neolight.errors import ApplicationError

ACTIVE = (CohortStatus.PENDING, CohortStatus.RUNNING)


def launch_limits_check(*, user, bankroll: Decimal) -> None:
    """Refuses (ApplicationError on `bankroll`) a launch that would give `user` more than
    COHORT_MAX_ACTIVE_PER_USER pending or running cohorts, or more than COHORT_MAX_CAPITAL_PER_USER
    of capital in them. Launches without a user (campaign days, the system) are not capped.

    Call it inside the launch's transaction: the user's row stays locked until the launch commits,
    so concurrent launches of one user are counted one after the other.
    """
    if user is None:
        return
    get_user_model().objects.select_for_update().filter(pk=user.pk).values_list("pk").first()
    active = Cohort.objects.filter(launched_by=user, status__in=ACTIVE).aggregate(
        count=Count("pk"), capital=Sum("wallet__bankroll"))
    most = settings.COHORT_MAX_ACTIVE_PER_USER
    if active["count"] >= most:
        raise ApplicationError(f"You have {active['count']} cohorts running or waiting to run (the most allowed); "
                               "wait for one to finish.", field="bankroll")
    held, cap = active["capital"] or Decimal(0), Decimal(settings.COHORT_MAX_CAPITAL_PER_USER)
    if held + bankroll > cap:
        room = max(cap - held, Decimal(0))
        advice = f"launch with at most ${room:,.2f} or wait" if room >= settings.BANKROLL_MIN else "wait"
        raise ApplicationError(
            f"Your active cohorts already hold ${held:,.2f} of the ${cap:,.2f} you may have at work, and this one "
            f"needs ${bankroll:,.2f}: {advice} for one to finish.", field="bankroll")
