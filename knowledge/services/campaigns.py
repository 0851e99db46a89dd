"""Campaigns: Day 1 … Day N of cohorts with a learning cycle after each day, advanced one step at a time.

Every step is decided from what the database holds (the latest day, its cohort's status, the cycle
after it), so a campaign picks up where it stopped after any restart, and repeating a step is harmless:
a day is unique per campaign, a cohort only runs from pending, a cycle only once per slot.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

import numpy as np
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from cohorts import calendars, engine
from cohorts.models import AllocationPolicy, Bar, Cohort, CohortStatus
from cohorts.selectors.market import symbols_calendars, trading_day_window
from cohorts.services.cohorts import cohort_fail, cohort_launch, cohort_run
from cohorts.services.inputs import CONTROL_RE, cohort_input, symbol_names, whole_number
from knowledge.models import (
    CAMPAIGN_ENDED,
    CAMPAIGN_STATES,
    Campaign,
    CampaignDay,
    CampaignMode,
    CampaignStatus,
    CycleKind,
    CycleStatus,
    EntryKind,
    KnowledgeEntry,
)
from knowledge.selectors import campaign_latest_day, genomes_from_json
from knowledge.services.cycles import cycle_daily_run
from knowledge.services.entries import entry_create
from knowledge.services.launch import cohort_launch_weighted
from knowledge.services.live import campaign_announce
from neolight.celery import enqueue
from neolight.errors import ApplicationError
from neolight.money import to_cents
from neolight.ops.logs import log_context

NAME_MAX_CHARS = 120  # Campaign.name's length


@dataclass(frozen=True)
class CampaignInput:
    """A validated campaign request; build it with `campaign_input`."""

    bankroll: Decimal
    days: int
    start_date: date
    policy: str
    symbols: tuple[str, ...]
    agents: int
    seed: int
    lookback_hours: int
    trials: int
    mode: str
    name: str = ""


def campaign_input(*, bankroll, days, start, policy=None, symbols=None, agents=None, seed=None, lookback_hours=None,
                   trials=None, mode=CampaignMode.REPLAY, name: str = "") -> CampaignInput:
    """Checks a campaign request; raises ApplicationError naming the first bad field. Day 1 (and in replay
    the last day) must pass every check of a cohort launch, seed included; days, lookback and trials are
    whole numbers within their bounds."""
    count = whole_number(days, "days", 1, settings.CAMPAIGN_MAX_DAYS)
    name = _name(name)
    first = _date(start)
    lookback = whole_number(settings.LEARNING_LOOKBACK_HOURS if lookback_hours is None else lookback_hours,
                            "lookback_hours", 1, 72)
    trial_count = whole_number(settings.LEARNING_TRIALS if trials is None else trials, "trials", 1, 5000)
    if mode not in CampaignMode.values:
        raise ApplicationError(f"Mode must be one of {', '.join(CampaignMode.values)}.", field="mode")
    start_at = datetime.combine(first, time(), tzinfo=UTC)
    names = symbols or sorted(set(Bar.objects.filter(ts__gte=start_at, ts__lt=start_at + timedelta(days=1))
                                  .values_list("instrument__symbol", flat=True)))
    policy = policy or AllocationPolicy.PERFORMANCE_WEIGHTED
    day1_start, day1_end = start_at, start_at + timedelta(days=1)
    if names:  # day 1 is the first trading day of the symbols' calendar on or after `start`
        _, day1_start, day1_end = trading_day_window(symbols=symbol_names(names), first=first, number=1)
    day1 = cohort_input(bankroll=bankroll, agents=agents, policy=policy, symbols=names or "", seed=seed,
                        start=day1_start, end=day1_end)
    if mode == CampaignMode.REPLAY and count > 1:
        _, last_start, last_end = trading_day_window(symbols=day1.symbols, first=first, number=count)
        cohort_input(bankroll=day1.bankroll, agents=day1.agents, policy=policy, symbols=day1.symbols,
                     start=last_start, end=last_end)
    return CampaignInput(bankroll=day1.bankroll, days=count, start_date=first, policy=policy, symbols=day1.symbols,
                         agents=day1.agents, seed=day1.seed, lookback_hours=lookback, trials=trial_count, mode=mode,
                         name=name)


def _neutral_input() -> dict:
    """A value for each argument of `campaign_input` that passes its own check (start has none)."""
    return {"bankroll": str(settings.BANKROLL_DEFAULT), "days": 1, "policy": None, "symbols": None, "agents": None,
            "seed": None, "lookback_hours": None, "trials": None, "name": "", "mode": CampaignMode.REPLAY}


def campaign_input_all(**request) -> CampaignInput:
    """`campaign_input`, refusing with every bad field it can find rather than the first: each refused value
    is set aside (replaced by one that passes its own check) and the request checked again. Raises
    ApplicationError with the first refusal and `extra={"errors": {field: [message], …}}`."""
    errors: dict[str, list[str]] = {}
    first: ApplicationError | None = None
    neutral = _neutral_input()
    for _ in range(len(neutral) + 1):
        try:
            data = campaign_input(**request)
        except ApplicationError as exc:
            first = first or exc
            found = getattr(exc, "errors", None) or {exc.field or "non_field_errors": [exc.message]}
            for name, messages in found.items():
                errors.setdefault(name, []).extend(m for m in messages if m not in errors[name])
            if any(name not in neutral or request.get(name, neutral) == neutral[name] and name in request
                   for name in found):
                break  # a refusal that cannot be set aside: what it hides stays unchecked
            request = {**request, **{name: neutral[name] for name in found}}
        else:
            if first is None:
                return data
            break
    raise ApplicationError(first.message, field=first.field, extra={"errors": errors})


def _date(value) -> date:
    if isinstance(value, datetime):
        day = value.date()
    elif isinstance(value, date):
        day = value
    else:
        try:
            day = date.fromisoformat(value.strip()[:10]) if isinstance(value, str) else None
        except ValueError:
            day = None
        if day is None:
            raise ApplicationError(f"Start must be a date (YYYY-MM-DD), not {str(value)[:40]!r}.", field="start")
    low, high = settings.COHORT_WINDOW_YEARS
    if not low <= day.year <= high:  # before any date arithmetic, which could overflow
        raise ApplicationError(f"Start must lie between {low} and {high}; got {day.year}.", field="start")
    return day


def _name(value) -> str:
    if not isinstance(value, str) or CONTROL_RE.search(value) or len(value) > NAME_MAX_CHARS:
        raise ApplicationError(f"A campaign's name is text of at most {NAME_MAX_CHARS} characters.", field="name")
    return value


@transaction.atomic
def campaign_create(*, data: CampaignInput, user=None) -> Campaign:
    """Creates a pending campaign and notes it in the knowledge base; nothing runs yet."""
    campaign = Campaign.objects.create(
        name=data.name, mode=data.mode, bankroll=data.bankroll, days=data.days, start_date=data.start_date,
        policy=data.policy, symbols=list(data.symbols), agents=data.agents, seed=data.seed,
        lookback_hours=data.lookback_hours, trials=data.trials, created_by=user)
    entry_create(kind=EntryKind.CAMPAIGN, campaign=campaign,
                 title=f"Campaign {campaign.pk} created: ${data.bankroll:,.2f} over {data.days} days from {data.start_date}",
                 body=f"{data.agents} agents on {', '.join(data.symbols)}; {data.policy} allocation; learning after each "
                      f"day on a {data.lookback_hours} h lookback with {data.trials} trials per family ({data.mode}).",
                 data={"bankroll": str(data.bankroll), "days": data.days, "policy": data.policy})
    campaign_announce(campaign.pk, "campaign.created")
    return campaign


@transaction.atomic
def campaign_cancel(*, campaign_id: int, user=None, now: datetime | None = None) -> Campaign:
    """Stops a pending or running campaign for good, stamping who and when; no further day or cycle starts.

    The current day's cohort, if still pending, is failed and its capital refunded in the same transaction;
    a running one finishes (its step records it). Refused, with nothing written, once the campaign ended."""
    now = now or timezone.now()
    who = user.get_username() if user is not None else "the operator"
    campaign = CAMPAIGN_STATES.move(campaign_id, CampaignStatus.CANCELLED, cancelled_by=user, cancelled_at=now,
                                    finished_at=now, status_reason=f"Cancelled by {who}.")
    if campaign is None:
        status = Campaign.objects.get(pk=campaign_id).get_status_display().lower()
        raise ApplicationError(f"Only a pending or running campaign can be cancelled; this one is {status}.")
    day = campaign_latest_day(campaign)
    refunded = day is not None and cohort_fail(
        cohort_id=day.cohort_id, reason=f"Campaign {campaign.pk} was cancelled by {who} before day {day.number} "
                                        f"ran; its capital was refunded.") is not None
    note = ""
    if refunded:
        note = f" Day {day.number}'s cohort {day.cohort_id} had not run: it was failed and its capital refunded."
    elif day is not None and day.cohort.status in (CohortStatus.PENDING, CohortStatus.RUNNING):
        note = f" Day {day.number}'s cohort {day.cohort_id} was trading: it finishes its run."
    entry_create(kind=EntryKind.CAMPAIGN, campaign=campaign, title=f"Campaign {campaign.pk} cancelled by {who}",
                 body=f"No further day or learning cycle starts.{note}", data={"status": CampaignStatus.CANCELLED})
    campaign_announce(campaign.pk, "campaign.cancelled")
    from assistant.services.narration import narrate_on_commit  # late: the assistant builds on this app
    narrate_on_commit("campaign.cancelled", campaign=campaign)
    return campaign


@transaction.atomic
def campaign_start(*, data: CampaignInput, user=None) -> Campaign:
    """Creates a campaign and, after commit, sets a replay advancing on a worker day by day (a live one
    advances on the beat's clock); the page that started it watches it live."""
    campaign = campaign_create(data=data, user=user)
    if campaign.mode == CampaignMode.REPLAY:
        transaction.on_commit(lambda: enqueue("knowledge.tasks.campaign_replay_task", campaign.pk))
    return campaign


def day_window(campaign: Campaign, number: int) -> tuple[datetime, datetime]:
    """Day `number`'s execution window: the campaign's `number`-th trading day from its start date (a UTC
    day for 24/7 symbols; the exchange's session day, pre- and after-market included, for equities)."""
    _, start, end = trading_day_window(symbols=campaign.symbols, first=campaign.start_date, number=number)
    return start, end


def day_skip_note(campaign: Campaign, number: int) -> str:
    """Which calendar days before trading day `number` (since the day before) were skipped, and why; '' if none."""
    names = symbols_calendars(campaign.symbols)
    day, _, _ = trading_day_window(symbols=campaign.symbols, first=campaign.start_date, number=number)
    previous = campaign.campaign_days.filter(number=number - 1).values_list("date", flat=True).first()
    skipped = calendars.skipped_days(names, previous or campaign.start_date - timedelta(days=1), day)
    if not skipped:
        return ""
    exchanges = " + ".join(n for n in names if n != calendars.ALWAYS_OPEN)
    return (f"Skipped {', '.join(d.isoformat() for d in skipped)}: not {exchanges} trading days; day {number} "
            f"trades {day.isoformat()}.")


def campaign_advance(*, campaign_id: int, now: datetime | None = None) -> str:
    """Takes the campaign's next step and says which: launched, ran, learned, completed, failed, waiting, finished.
    Every log line of the step carries the campaign's id."""
    with log_context(campaign_id=campaign_id):
        return _advance(campaign_id, now or timezone.now())


def _advance(campaign_id: int, now: datetime) -> str:
    campaign = Campaign.objects.get(pk=campaign_id)
    if campaign.status in CAMPAIGN_ENDED:
        _record_cancelled_day(campaign)
        return "finished"
    if campaign.status == CampaignStatus.PENDING:
        if not _transition(campaign, CampaignStatus.RUNNING, started_at=now):
            return "finished"  # cancelled before it began
        campaign_announce(campaign.pk, "campaign.started")
        from assistant.services.narration import narrate_on_commit  # late: the assistant builds on this app
        narrate_on_commit("campaign.started", campaign=campaign)
    day = campaign_latest_day(campaign)
    if day is None:
        return _launch_day(campaign, 1, now)
    cohort = day.cohort
    if cohort.status == CohortStatus.PENDING and campaign.mode == CampaignMode.REPLAY:
        campaign_announce(campaign.pk, "campaign.day_running")
        cohort_run(cohort_id=cohort.pk)
        campaign_announce(campaign.pk, "campaign.day_finished")
        return f"ran day {day.number}"
    if cohort.status in (CohortStatus.PENDING, CohortStatus.RUNNING):
        return "waiting"
    if cohort.status == CohortStatus.FAILED:
        return _finish(campaign, CampaignStatus.FAILED, f"Day {day.number}'s cohort {cohort.pk} failed: "
                                                        f"{cohort.status_reason}")
    cycle = campaign.cycles.filter(kind=CycleKind.DAILY, day_number=day.number).first()
    if cycle is None or cycle.status != CycleStatus.COMPLETED:
        _record_day(campaign, day.number, cohort)
        cycle = cycle_daily_run(campaign_id=campaign.pk, day_number=day.number)
        if cycle is None:
            return "finished" if Campaign.objects.get(pk=campaign.pk).status in CAMPAIGN_ENDED else "waiting"
        if cycle.status == CycleStatus.FAILED:
            return _finish(campaign, CampaignStatus.FAILED, f"The learning cycle after day {day.number} failed: "
                                                            f"{cycle.status_reason}")
        return f"learned after day {day.number}"
    if day.number >= campaign.days:
        return _finish(campaign, CampaignStatus.COMPLETED, "")
    return _launch_day(campaign, day.number + 1, now)


STOPPING_STEPS = ("finished", "waiting", "completed", "failed")  # steps after which a replay stops advancing


def campaign_replay(*, campaign_id: int, progress: Callable[[str], None] | None = None) -> Campaign:
    """Advances a replay campaign at full speed until it completes, fails, or must wait."""
    campaign = Campaign.objects.get(pk=campaign_id)
    for _ in range(4 * campaign.days + 4):
        step = campaign_advance(campaign_id=campaign_id)
        if progress:
            progress(step)
        if step in STOPPING_STEPS:
            break
    campaign.refresh_from_db()
    return campaign


def campaign_tick(*, now: datetime | None = None) -> list[int]:
    """The ids of the live campaigns that need a step now (running or pending)."""
    return list(Campaign.objects.filter(mode=CampaignMode.LIVE, status__in=[CampaignStatus.PENDING,
                                                                              CampaignStatus.RUNNING])
                .values_list("pk", flat=True))


def _launch_day(campaign: Campaign, number: int, now: datetime) -> str:
    start, end = day_window(campaign, number)
    if campaign.mode == CampaignMode.LIVE and now < end:
        return "waiting"
    try:
        with transaction.atomic():
            if CAMPAIGN_STATES.lock(campaign.pk, status=CampaignStatus.RUNNING) is None:
                return "finished"  # cancelled (or ended) since this step read it: no day starts
            if campaign.campaign_days.filter(number=number).exists():
                return "waiting"
            cohort = _launch_cohort(campaign, number, start, end)
            day, _, _ = trading_day_window(symbols=campaign.symbols, first=campaign.start_date, number=number)
            CampaignDay.objects.create(campaign=campaign, number=number, date=day, cohort=cohort)
            campaign_announce(campaign.pk, "campaign.day_launched")
    except ApplicationError as exc:
        if campaign.mode == CampaignMode.LIVE and exc.field == "start":
            return "waiting"  # the day's bars have not all arrived yet
        return _finish(campaign, CampaignStatus.FAILED, f"Day {number} could not start: {exc.message}")
    return f"launched day {number}"


def _launch_cohort(campaign: Campaign, number: int, start: datetime, end: datetime) -> Cohort:
    """Day `number`'s cohort, launched in the name of whoever started the campaign (so they may open it)."""
    previous = campaign.campaign_days.select_related("cohort").filter(number=number - 1).first()
    bankroll = campaign.bankroll if previous is None else to_cents(previous.cohort.final_equity)
    data = cohort_input(bankroll=bankroll, agents=campaign.agents, policy=campaign.policy, symbols=campaign.symbols,
                        start=start, end=end, seed=campaign.seed,
                        compliance_notes=" ".join(filter(None, [f"Campaign {campaign.pk}, day {number} of {campaign.days}.",
                                                                day_skip_note(campaign, number)])))
    run = campaign.mode == CampaignMode.LIVE
    cycle = campaign.cycles.filter(status=CycleStatus.COMPLETED).order_by("-slot", "-id").first()
    genomes = genomes_from_json(cycle.genomes) if cycle else engine.default_roster(campaign.agents, seed=campaign.seed)
    if campaign.policy != AllocationPolicy.PERFORMANCE_WEIGHTED:
        return cohort_launch(data=data, user=campaign.created_by, genomes=genomes, day_number=number, run=run)
    if cycle is None:
        weights, note = np.ones(len(genomes)), "Allocation: equal shares (day 1: no campaign history yet)."
    else:
        weights = np.asarray(cycle.weights)
        note = (f"Allocation: Thompson sampling over the agents' hourly returns in cohort {cycle.source_cohort_id} "
                f"(learning cycle {cycle.pk}); {settings.LEARNING_BANDIT_FLOOR:.0%} of the bankroll split equally.")
    return cohort_launch_weighted(data=data, genomes=genomes, weights=weights, note=note, day_number=number, run=run,
                                  user=campaign.created_by)


def _record_cancelled_day(campaign: Campaign) -> None:
    """A cancelled campaign's last day, once its cohort has finished, goes on record like any other."""
    day = campaign_latest_day(campaign)
    if campaign.status == CampaignStatus.CANCELLED and day is not None and day.cohort.status == CohortStatus.COMPLETED:
        _record_day(campaign, day.number, day.cohort)


def _record_day(campaign: Campaign, number: int, cohort: Cohort) -> None:
    if KnowledgeEntry.objects.filter(kind=EntryKind.CAMPAIGN_DAY, cohort=cohort).exists():
        return
    leaders = (cohort.summary or {}).get("leaderboard") or [{}]
    best = leaders[0]
    day = campaign.campaign_days.get(number=number).date
    skipped = day_skip_note(campaign, number)
    entry_create(kind=EntryKind.CAMPAIGN_DAY, campaign=campaign, cohort=cohort,
                 title=f"Day {number} ({day.isoformat()}): cohort {cohort.pk} ROI {cohort.roi or 0:+.2%}",
                 body=f"Bankroll ${cohort.wallet.bankroll:,.2f} → ${cohort.final_equity or 0:,.2f}. Best agent "
                      f"{best.get('agent')} ({best.get('family')}), ROI {best.get('roi', 0):+.2%}, "
                      f"Sharpe {best.get('sharpe', 0):.2f}." + (f" {skipped}" if skipped else ""),
                 data={"day": number, "date": day.isoformat(), "skipped": skipped, "roi": cohort.roi,
                       "best_agent": best})
    from assistant.services.narration import narrate_on_commit  # late: the assistant builds on this app
    narrate_on_commit("campaign.day_finished", campaign=campaign, day=number)


def _transition(campaign: Campaign, to: str, **fields) -> bool:
    moved = CAMPAIGN_STATES.move(campaign.pk, to, **fields)
    campaign.refresh_from_db()
    return moved is not None


def _finish(campaign: Campaign, status: str, reason: str) -> str:
    if _transition(campaign, status, status_reason=reason[:2000], finished_at=timezone.now()):
        title = (f"Campaign {campaign.pk} completed its {campaign.days} days" if status == CampaignStatus.COMPLETED
                 else f"Campaign {campaign.pk} failed")
        entry_create(kind=EntryKind.CAMPAIGN, campaign=campaign, title=title, body=reason, data={"status": status})
        campaign_announce(campaign.pk, f"campaign.{status}")
        from assistant.services.narration import narrate_on_commit  # late: the assistant builds on this app
        narrate_on_commit(f"campaign.{status}", campaign=campaign)
    return status


@transaction.atomic
def campaign_step_broke(*, campaign_id: int, error: BaseException) -> Campaign | None:
    """A replay step raised something no service refused (a bug, a lost connection): the campaign fails with
    the error on record instead of staying "running" with no step to come, and a day that had not run yet is
    failed and its capital refunded. A day that is running finishes (its lease and recovery see to it).
    None when the campaign had already ended."""
    campaign = Campaign.objects.select_for_update().get(pk=campaign_id)
    if campaign.status in CAMPAIGN_ENDED:
        return None
    day = campaign_latest_day(campaign)
    refunded = day is not None and cohort_fail(
        cohort_id=day.cohort_id, reason=f"Campaign {campaign.pk} stopped before day {day.number} ran; its capital "
                                        f"was refunded.") is not None
    note = f" Day {day.number}'s cohort {day.cohort_id} had not run: it was failed and its capital refunded." \
        if refunded else ""
    _finish(campaign, CampaignStatus.FAILED, f"A step failed unexpectedly ({type(error).__name__}: {error}).{note} "
                                             "Re-run the campaign to replay it.")
    return campaign


def campaign_recover_orphaned() -> list[int]:
    """For the embedded server's start-up, after its cohorts and cycles were recovered: fails, with the reason,
    each campaign whose step a stop cut short. A replay campaign still under way is failed (only the process
    that replayed it drove it; re-run it to go on). A live campaign is failed if its latest day's cohort failed;
    otherwise it resumes at its next step. Returns the ids of the campaigns failed."""
    failed = []
    for campaign in Campaign.objects.filter(status__in=[CampaignStatus.PENDING, CampaignStatus.RUNNING]).order_by("pk"):
        reason = _orphaned_reason(campaign)
        if reason and _finish(campaign, CampaignStatus.FAILED, reason) and campaign.status == CampaignStatus.FAILED:
            failed.append(campaign.pk)
    return failed


def _orphaned_reason(campaign: Campaign) -> str:
    day = campaign_latest_day(campaign)
    if day is not None and day.cohort.status == CohortStatus.FAILED:
        return f"Day {day.number}'s cohort {day.cohort.pk} failed: {day.cohort.status_reason}"
    if campaign.mode == CampaignMode.LIVE:
        return ""
    where = f"after day {day.number} of {campaign.days}" if day else "before day 1"
    return (f"The server stopped while this replay ran ({where}); a replay does not resume after a restart. "
            "Start it again to replay every day.")
