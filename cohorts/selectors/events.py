"""Reads of a cohort's rule events, in words, with the counts the cohort page's cards show."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime

from django.db.models import Case, Count, When

from cohorts import events
from cohorts.models import Cohort, CohortEvent

EVENTS_SHOWN = 200  # rows per table on the cohort page; the counts always cover every event
EVENTS_READ = 2_000  # events read in one query, breaker pauses first; past it, one more query counts them all


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
    """A cohort's events by kind. `breach_count`, `action_count` and `len(paused)` count every event of the
    cohort; the row lists stop at EVENTS_SHOWN."""

    breaches: list[EventRow]
    breach_count: int
    actions: list[EventRow]
    action_count: int
    paused: list[PausedAgent]

    @property
    def total(self) -> int:
        return self.breach_count + self.action_count

    @property
    def shown(self) -> int:
        return EVENTS_SHOWN


def cohort_event_log(cohort: Cohort) -> EventLog:
    """Every rule event of `cohort` as a sentence, split into breaches and other actions (caps, resumptions),
    with the agents circuit breakers paused. One query (breaker pauses, then other breaches, then the rest);
    a second counts every event when there are more than EVENTS_READ."""
    limits = events.Limits(exposure_limit=cohort.wallet.exposure_limit,
                           market_exposure_limit=cohort.wallet.market_exposure_limit)
    priority = Case(When(rule__in=events.BREAKER_RULES, then=0), When(rule__in=events.BREACH_RULES, then=1),
                    default=2)
    stored = list(CohortEvent.objects.filter(cohort=cohort).annotate(priority=priority)
                  .order_by("priority", "ts", "id").values("ts", "agent__index", "rule", "values", "priority")[:EVENTS_READ + 1])
    if len(stored) > EVENTS_READ:
        counts = dict(cohort.events.values_list("rule").annotate(n=Count("id")).order_by())
        stored = stored[:EVENTS_READ]
    else:
        counts = Counter(e["rule"] for e in stored)
    breach_count = sum(n for rule, n in counts.items() if rule in events.BREACH_RULES)
    rows = sorted(stored, key=lambda e: (e["ts"], e["priority"]))
    breaches = [_row(e, limits) for e in rows if e["rule"] in events.BREACH_RULES][:EVENTS_SHOWN]
    actions = [_row(e, limits) for e in rows if e["rule"] not in events.BREACH_RULES][:EVENTS_SHOWN]
    pauses = [e for e in rows if e["rule"] in events.BREAKER_RULES and e["agent__index"] is not None]
    return EventLog(breaches=breaches, breach_count=breach_count, actions=actions,
                    action_count=sum(counts.values()) - breach_count, paused=_paused(pauses, limits))


def _paused(stored, limits: events.Limits) -> list[PausedAgent]:
    firsts: dict[int, dict] = {}
    pauses: dict[int, int] = {}
    for event in stored:
        index = event["agent__index"]
        firsts.setdefault(index, event)
        pauses[index] = pauses.get(index, 0) + 1
    return [PausedAgent(index=i, pauses=pauses[i], first=_row(firsts[i], limits),
                        reason=events.pause_reason(firsts[i]["rule"], firsts[i]["values"] or {}))
            for i in sorted(firsts)]


def _row(event: dict, limits: events.Limits) -> EventRow:
    rule, values, agent = event["rule"], event["values"] or {}, event["agent__index"]
    return EventRow(ts=event["ts"], agent=agent, rule=rule, kind=events.kind_of(rule), title=events.title_of(rule),
                    sentence=events.sentence(rule, values, agent, limits), symbol=str(values.get("symbol") or ""))
