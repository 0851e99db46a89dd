"""Grow: a bankroll over N days as a replay campaign on the stored bars, with its day-by-day plan on record.

A grow plan replays the latest N days of stored bars (the knowledge app's replay campaign: a worker advances it
day by day, with a learning cycle after each day); live campaigns start from the campaigns page. The plan is kept
as a decision entry of the knowledge base, so the campaign and its page show it.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, timedelta
from decimal import Decimal

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Max, Min

from assistant.selectors.plan import grow_plan
from cohorts.models import Bar
from cohorts.services.inputs import _decimal, _places, whole_number
from knowledge.models import Campaign, CampaignStatus, EntryKind, KnowledgeEntry
from knowledge.services.campaigns import campaign_input_all, campaign_start
from knowledge.services.entries import entry_create
from neolight.errors import ApplicationError

GROW_DAYS = (1, 60)  # days a grow plan may span
GROW_LEVERAGE = (Decimal(1), Decimal(10))  # max leverage a grow plan may name (×)


class GrowForbidden(ApplicationError):
    status_code = 403


@dataclass(frozen=True)
class GrowInput:
    """A checked grow request; build it with `grow_input`."""

    bankroll: Decimal
    days: int
    max_leverage: Decimal


def grow_input(*, bankroll, days, max_leverage=None) -> GrowInput:
    """Checks bankroll (the launch bounds, whole cents), days (1–60) and max leverage (1–10, default the
    ladder's cap of 10); one ApplicationError naming every bad field."""
    errors: dict[str, list[str]] = {}
    amount = _check(errors, "bankroll", lambda: _bankroll(bankroll))
    count = _check(errors, "days", lambda: whole_number(days, "days", *GROW_DAYS))
    leverage = _check(errors, "max_leverage",
                      lambda: _leverage(GROW_LEVERAGE[1] if max_leverage in (None, "") else max_leverage))
    if errors:
        raise ApplicationError(errors=errors)
    return GrowInput(bankroll=amount, days=count, max_leverage=leverage)


def _check(errors: dict, name: str, rule):
    try:
        return rule()
    except ApplicationError as exc:
        errors.setdefault(name, []).extend(m for ms in exc.errors.values() for m in ms)
        return None


def _bankroll(value) -> Decimal:
    amount = _decimal(value, "bankroll")
    low, high = Decimal(settings.BANKROLL_MIN), Decimal(settings.BANKROLL_MAX)
    if not low <= amount <= high:
        raise ApplicationError(f"Bankroll must be between ${low:,} and ${high:,}.", field="bankroll")
    if _places(amount) > 2:
        raise ApplicationError("Bankroll must be in whole cents.", field="bankroll")
    return amount


def _leverage(value) -> Decimal:
    number = _decimal(value, "max_leverage")
    low, high = GROW_LEVERAGE
    if not low <= number <= high or _places(number) > 2:
        raise ApplicationError(f"Max leverage must be from {low}× to {high}× (at most 2 decimal places).",
                               field="max_leverage")
    return number


@dataclass(frozen=True)
class Grown:
    campaign: Campaign
    plan: dict
    is_new: bool  # False when `request_key` had already started it


@transaction.atomic
def grow_start(*, data: GrowInput, user, request_key: str = "") -> Grown:
    """Checks the prerequisites (permission, stored bars for the days, no pending or running campaign of `user`),
    starts a replay campaign over the latest `data.days` days of stored bars and records its plan. With a
    `request_key`, the same key never starts a second campaign: it answers the first one."""
    if not user.has_perm("knowledge.add_campaign"):
        raise GrowForbidden("You may not start campaigns.")
    get_user_model().objects.select_for_update().filter(pk=user.pk).values_list("pk").first()  # one grow at a time
    if request_key:
        done = KnowledgeEntry.objects.filter(kind=EntryKind.DECISION, data__grow_request=request_key).first()
        if done is not None:
            return Grown(campaign=done.campaign, plan=done.data["plan"], is_new=False)
    start = grow_prerequisites_check(data=data, user=user)
    request = campaign_input_all(bankroll=data.bankroll, days=data.days, start=start,
                                 name=f"Grow ${data.bankroll:,.2f} over {data.days} days (at most {data.max_leverage:g}×)")
    campaign = campaign_start(data=request, user=user)
    plan = grow_plan(campaign=campaign, max_leverage=data.max_leverage)
    entry_create(kind=EntryKind.DECISION, campaign=campaign,
                 title=f"Grow plan: ${data.bankroll:,.2f} over {data.days} days, campaign {campaign.pk}",
                 body=f"Started from the assistant by {user.get_username()}; at most {data.max_leverage:g}× leverage.",
                 data={"plan": plan, "grow_request": request_key, "max_leverage": str(data.max_leverage)})
    return Grown(campaign=campaign, plan=plan, is_new=True)


def grow_prerequisites_check(*, data: GrowInput, user):
    """Day 1 of the replay, once the prerequisites hold: no pending or running campaign of `user`, and stored
    bars for `data.days` days. ApplicationError otherwise (nothing is written)."""
    busy = Campaign.objects.filter(created_by=user, status__in=[CampaignStatus.PENDING, CampaignStatus.RUNNING]).first()
    if busy is not None:
        raise ApplicationError(f"Your campaign {busy.pk} is still {busy.status}: wait for it to finish or cancel it "
                               "before growing another bankroll.")
    return _replay_start(data.days)


def _replay_start(days: int):
    """Day 1 of a replay over the latest `days` UTC days of stored bars; refused when fewer days are stored."""
    span = Bar.objects.aggregate(first=Min("ts"), last=Max("ts"))
    if span["last"] is None:
        raise ApplicationError("No bars are stored: load market data (manage.py load_sample_data) before growing.",
                               field="days")
    first, last = span["first"].astimezone(UTC).date(), span["last"].astimezone(UTC).date()
    start = last - timedelta(days=days - 1)
    if start < first:
        stored = (last - first).days + 1
        raise ApplicationError(f"Stored bars cover {stored} day{'s' if stored != 1 else ''} ({first} to {last}): "
                               f"grow over at most {stored} days, or load more bars.", field="days")
    return start
