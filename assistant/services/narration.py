"""Narration: every major event becomes one short sentence, stored in the knowledge base and pushed to the
assistant's live feed. This is the one place that maps events to sentences; services call `narrate_on_commit`
with the event's name and the rows it is about, so nothing is said about work that rolled back.

The sentence's figures are read back after the commit (assistant/selectors/narration.py) and formatted as a trader
reads them; the entry's data carries the event, its links (ids of cohort, campaign, request, deployment, …) and the
context given (rows as their ids). An unknown event is logged and skipped; a narration that fails is logged and
never undoes, nor interrupts, the work it describes. A rollback, the kill switch or a breaker halting a subject
also gets its post-mortem (assistant/services/postmortem.py), written once the narration is out.
"""
from __future__ import annotations

import functools
import logging
import string
from typing import Any

from django.db import models, transaction

from assistant.selectors.narration import Facts, event_facts
from knowledge.models import EntryKind, KnowledgeEntry
from knowledge.services.entries import entry_create
from neolight.realtime import ASSISTANT, broadcast

log = logging.getLogger(__name__)

# event → sentence, formatted with the event's facts (amounts already formatted as a trader reads them)
SENTENCES: dict[str, str] = {
    "cohort.started": "{where}Cohort {cohort} started: {agents} agents on {bankroll}.",
    "cohort.resumed": "{where}Cohort {cohort} resumed its live run: {agents} agents on {bankroll}.",
    "cohort.finished": "{where}Cohort {cohort} finished: {equity} ({roi}); best agent #{best_agent} {best_family}.",
    "cohort.failed": "{where}Cohort {cohort} failed: {reason}. {returned} went back to the bankroll.",
    "campaign.started": "Campaign {campaign} started: {bankroll} over {days}.",
    "campaign.day_finished": "Campaign {campaign}, day {day} of {total} finished: {equity} ({roi}); "
                             "best agent #{best_agent} {best_family}.",
    "campaign.completed": "Campaign {campaign} completed {days}: {bankroll} → {equity} ({roi}).",
    "campaign.failed": "Campaign {campaign} failed: {reason}",
    "campaign.cancelled": "Campaign {campaign} cancelled by {who}: {bankroll} → {equity} so far.",
    "cycle.completed": "Campaign {campaign}, learning after day {day}: {adopted} tuned genomes adopted, "
                       "{replaced} agents replaced (out-of-sample score {score}).",
    "promotion.requested": "Request {request}: {what}, asked by {who}; signed by {roles}.",
    "promotion.signed": "Request {request}: {role} signed by {signer} (step {step} of {steps}).",
    "promotion.approved": "Request {request} approved: {role} signed by {signer}, the last of {steps} steps; {what}.",
    "promotion.rejected": "Request {request} rejected by {signer} ({role}): {note}",
    "promotion.expired": "Request {request} expired unsigned: {what}.",
    "promotion.cancelled": "Request {request} cancelled: {reason}",
    "deployment.started": "Deployment {deployment} started: {family} with {capital} on the {broker} broker "
                          "({mode}) until {ends_at} UTC.",
    "deployment.paused": "Deployment {deployment} paused: {reason}",
    "deployment.resumed": "Deployment {deployment} resumed: {reason}",
    "deployment.rolled_back": "Deployment {deployment} rolled back: {why}. Capital {returned} returned.",
    "deployment.completed": "Deployment {deployment} completed: the timer ran out. Capital {returned} returned "
                            "({pnl}).",
    "deployment.failed": "Deployment {deployment} failed: {why}. Capital {returned} returned.",
    "deployment.capital_stepped": "Deployment {predecessor}'s capital stepped {from} → {to} ({reason}); "
                                  "deployment {deployment} trades it.",
    "leverage.changed": "Leverage for {subject}: {from} → {to} ({why}).",
    "alert.raised": "Alert, {kind} [{mode}]: {message}",
    "breaker.opened": "Breaker opened on {subject}: {rule}, {state} — {reason}.",
    "breaker.recovered": "Breaker on {subject} back to active ({rule}): {reason}.",
    "kill_switch.engaged": "Kill switch engaged by {who}: {reason}. Deployments paused: {paused}; live cohorts "
                           "halted: {halted}.",
    "kill_switch.released": "Kill switch released by {who}: {reason}. Paused deployments stay paused.",
    "mode.changed": "Deployment {deployment}'s trading mode: {from} → {to} ({how}): {reason}",
    "post_mortem.written": "Post-mortem written for {incident}.",
}
OPTIONAL = {"where": ""}  # fields a sentence may go without: "Campaign 2, day 1: " before a campaign day's cohort


def narrate(event: str, /, *, cohort=None, campaign=None, **context: Any) -> KnowledgeEntry | None:
    """Stores the event's sentence as a narration entry and pushes it to the feed, then writes the incident's
    post-mortem if the event is one. Returns the entry; None, with no narration written, for an unknown event, an
    event said elsewhere (`event_facts` None) or a fault (logged)."""
    template = SENTENCES.get(event)
    if template is None:
        log.warning("no sentence for event %s", event)
        return None
    try:
        with transaction.atomic():
            entry = _store(event, template, cohort=cohort, campaign=campaign, **context)
        if entry is not None:
            broadcast(ASSISTANT, "narration", {"id": entry.pk, "event": event, "text": entry.title,
                                               "links": entry.data["links"], "at": entry.created_at.isoformat()})
    except Exception:
        log.exception("narration of %s failed", event)
        entry = None
    _follow_up(event, **context)  # the incident's post-mortem, even if its sentence could not be said
    return entry


def narrate_on_commit(event: str, /, **context: Any) -> None:
    """`narrate` once the current transaction commits (never if it rolls back; at once outside one)."""
    transaction.on_commit(functools.partial(narrate, event, **context), robust=True)


def _store(event: str, template: str, /, *, cohort, campaign, **context: Any) -> KnowledgeEntry | None:
    given = {**OPTIONAL, "cohort": _pk(cohort), "campaign": _pk(campaign), **{k: _pk(v) for k, v in context.items()}}
    needed = {name for _, name, _, _ in string.Formatter().parse(template) if name}
    facts = Facts({}) if needed <= given.keys() else event_facts(event, cohort=cohort, campaign=campaign, **context)
    if facts is None:
        return None
    cohort = facts.cohort or (cohort if isinstance(cohort, models.Model) else None)
    campaign = facts.campaign or (campaign if isinstance(campaign, models.Model) else None)
    fields = {**given, **facts.fields}
    fields["cohort"] = fields["cohort"] if fields["cohort"] is not None else _pk(cohort)
    fields["campaign"] = fields["campaign"] if fields["campaign"] is not None else _pk(campaign)
    links = {k: v for k, v in (("cohort", fields["cohort"]), ("campaign", fields["campaign"])) if v is not None}
    return entry_create(kind=EntryKind.NARRATION, title=template.format(**fields),
                        data={"event": event, "links": {**links, **facts.links}, "context": _plain(context)},
                        cohort=cohort, campaign=campaign)


def _follow_up(event: str, /, **context: Any) -> None:
    """The post-mortem of an incident, after its narration (postmortem.py imports this module)."""
    from assistant.services import postmortem

    writer = postmortem.WRITERS.get(event)
    if writer is None:
        return
    try:
        writer(**context)
    except Exception:
        log.exception("post-mortem after %s failed", event)


def _pk(value):
    return getattr(value, "pk", value)


def _plain(context: dict[str, Any]) -> dict[str, Any]:
    plain = {}
    for key, value in context.items():
        value = _pk(value)
        plain[key] = value if isinstance(value, str | int | float | bool | type(None)) else str(value)
    return plain
