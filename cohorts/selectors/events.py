"""Reads of a cohort's rule events, in words, with the counts the cohort page's cards show."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from django.db.models import Case, Count, QuerySet, When

from cohorts import events
from cohorts.models import Cohort, CohortEvent

EVENTS_SHOWN = 25  # rows per table on the cohort page; the counts cover every event, the event log lists all
PAUSED_SHOWN = 25  # paused agents listed on the cohort page
EVENTS_PER_PAGE = 100  # rows per page of the event log
LOG_KINDS = {"all": "Every event", "breaches": "Breaches", "pauses": "Circuit-breaker pauses",
             "actions": "Caps applied and agents resumed"}


@dataclass(frozen=True)
class EventRow:
    ts: datetime
    agent: int | None
    rule: str
    kind: str
    title: str
    sentence: str
    symbol: str


@dataclass(frozen=True)
class PausedAgent:
    """An agent a circuit breaker paused at least once: how often, and when and why the first time."""

    index: int
    pauses: int
    first: EventRow
    reason: str


@dataclass(frozen=True)
class EventLog:
    """A cohort's events by kind. `breach_count`, `action_count` and `paused_count` count every event of the
    cohort; the lists stop at EVENTS_SHOWN rows and PAUSED_SHOWN agents."""

    breaches: list[EventRow]
    breach_count: int
    actions: list[EventRow]
    action_count: int
    paused: list[PausedAgent]
    paused_count: int

    @property
    def total(self) -> int:
        return self.breach_count + self.action_count

    @property
    def shown(self) -> int:
        return EVENTS_SHOWN


def cohort_event_log(cohort: Cohort) -> EventLog:
    """The cohort page's view of its rule events, as sentences: counts of every kind, the first breaches and
    other actions (caps, resumptions) in time order, and the agents circuit breakers paused. A handful of
    bounded queries, whatever the number of events."""
    limits = _limits(cohort)
    stored = cohort.events.annotate(priority=_PRIORITY)
    counts = dict(cohort.events.values_list("rule").annotate(n=Count("id")).order_by())
    breach_count = sum(n for rule, n in counts.items() if rule in events.BREACH_RULES)
    breaches = stored.filter(rule__in=events.BREACH_RULES).order_by("ts", "priority", "id")
    actions = stored.exclude(rule__in=events.BREACH_RULES).order_by("ts", "id")
    pauses = (cohort.events.filter(rule__in=events.BREAKER_RULES, agent__isnull=False)
              .values("agent__index").annotate(n=Count("id")).order_by("agent__index"))
    paused_count = pauses.count()
    shown = {p["agent__index"]: p["n"] for p in pauses[:PAUSED_SHOWN]}
    firsts: dict[int, dict] = {}
    for event in (cohort.events.filter(rule__in=events.BREAKER_RULES, agent__index__in=list(shown))
                  .order_by("ts", "id").values(*_FIELDS)):
        firsts.setdefault(event["agent__index"], event)
    paused = [PausedAgent(index=i, pauses=shown[i], first=_row(firsts[i], limits),
                          reason=events.pause_reason(firsts[i]["rule"], firsts[i]["values"] or {}))
              for i in sorted(firsts)]
    return EventLog(breaches=[_row(e, limits) for e in breaches.values(*_FIELDS)[:EVENTS_SHOWN]],
                    breach_count=breach_count,
                    actions=[_row(e, limits) for e in actions.values(*_FIELDS)[:EVENTS_SHOWN]],
                    action_count=sum(counts.values()) - breach_count, paused=paused, paused_count=paused_count)


def cohort_events(cohort: Cohort, kind: str = "all") -> QuerySet[CohortEvent]:
    """Every event of one kind of the log (`LOG_KINDS`), in time order, as values for `event_rows`."""
    stored = cohort.events.annotate(priority=_PRIORITY).order_by("ts", "priority", "id")
    if kind == "breaches":
        stored = stored.filter(rule__in=events.BREACH_RULES)
    elif kind == "pauses":
        stored = stored.filter(rule__in=events.BREAKER_RULES)
    elif kind == "actions":
        stored = stored.exclude(rule__in=events.BREACH_RULES)
    return stored.values(*_FIELDS)


def event_rows(cohort: Cohort, stored: Iterable[dict]) -> list[EventRow]:
    """Stored events (from `cohort_events`) as sentences."""
    limits = _limits(cohort)
    return [_row(e, limits) for e in stored]


_FIELDS = ("ts", "agent__index", "rule", "values")
# breaker pauses first among events of the same minute, then other breaches, then the rest
_PRIORITY = Case(When(rule__in=events.BREAKER_RULES, then=0), When(rule__in=events.BREACH_RULES, then=1), default=2)


def _limits(cohort: Cohort) -> events.Limits:
    return events.Limits(exposure_limit=cohort.wallet.exposure_limit,
                         market_exposure_limit=cohort.wallet.market_exposure_limit)


def _row(event: dict, limits: events.Limits) -> EventRow:
    rule, values, agent = event["rule"], event["values"] or {}, event["agent__index"]
    return EventRow(ts=event["ts"], agent=agent, rule=rule, kind=events.kind_of(rule), title=events.title_of(rule),
                    sentence=events.sentence(rule, values, agent, limits), symbol=str(values.get("symbol") or ""))
