"""Reads of a cohort's rule events, in words, with the counts the cohort page's cards show."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count

from cohorts import events
from cohorts.models import Cohort, CohortEvent

EVENTS_SHOWN = 200  # rows per table on the cohort page; the counts always cover every event


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
    """An agent a circuit breaker paused at least once: how often, and why the first time."""

    index: int
    pauses: int
    first: EventRow


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
    with the agents circuit breakers paused; four queries whatever the number of events."""
    limits = events.Limits(exposure_limit=cohort.wallet.exposure_limit,
                           market_exposure_limit=cohort.wallet.market_exposure_limit)
    counts = dict(cohort.events.values_list("rule").annotate(n=Count("id")).order_by())
    breach_count = sum(n for rule, n in counts.items() if rule in events.BREACH_RULES)
    stored = CohortEvent.objects.filter(cohort=cohort).order_by("ts", "id").values("ts", "agent__index", "rule",
                                                                                     "values")
    breaches = [_row(e, limits) for e in stored.filter(rule__in=events.BREACH_RULES)[:EVENTS_SHOWN]]
    actions = [_row(e, limits) for e in stored.exclude(rule__in=events.BREACH_RULES)[:EVENTS_SHOWN]]
    return EventLog(breaches=breaches, breach_count=breach_count, actions=actions,
                    action_count=sum(counts.values()) - breach_count,
                    paused=_paused(stored.filter(rule__in=events.BREAKER_RULES, agent__isnull=False), limits))


def _paused(stored, limits: events.Limits) -> list[PausedAgent]:
    firsts: dict[int, EventRow] = {}
    pauses: dict[int, int] = {}
    for event in stored:
        index = event["agent__index"]
        firsts.setdefault(index, _row(event, limits))
        pauses[index] = pauses.get(index, 0) + 1
    return [PausedAgent(index=i, pauses=pauses[i], first=firsts[i]) for i in sorted(firsts)]


def _row(event: dict, limits: events.Limits) -> EventRow:
    rule, values, agent = event["rule"], event["values"] or {}, event["agent__index"]
    return EventRow(ts=event["ts"], agent=agent, rule=rule, kind=events.kind_of(rule), title=events.title_of(rule),
                    sentence=events.sentence(rule, values, agent, limits), symbol=str(values.get("symbol") or ""))
