"""Narration: every major event becomes one short sentence, stored in the knowledge base and pushed to the
assistant's live feed. This is the one place that maps events to sentences; services call `narrate_on_commit`
so nothing is said about work that rolled back.
"""
from __future__ import annotations

import logging
from typing import Any

from django.db import transaction

from knowledge.models import EntryKind, KnowledgeEntry
from knowledge.services.entries import entry_create
from neolight.realtime import ASSISTANT, broadcast

log = logging.getLogger(__name__)

# event → sentence, formatted with the event's context (amounts already formatted as a trader reads them)
SENTENCES: dict[str, str] = {
    "cohort.started": "Cohort {cohort} started: {agents} agents on {bankroll}.",
    "cohort.finished": "Cohort {cohort} finished: {equity} ({roi}).",
}


def narrate(event: str, *, cohort=None, campaign=None, **context: Any) -> KnowledgeEntry | None:
    """Stores the event's sentence as a narration entry and pushes it to the feed; None for an unknown event."""
    template = SENTENCES.get(event)
    if template is None:
        log.warning("no sentence for event %s", event)
        return None
    text = template.format(cohort=getattr(cohort, "pk", cohort), campaign=getattr(campaign, "pk", campaign), **context)
    entry = entry_create(kind=EntryKind.NARRATION, title=text, data={"event": event, **_plain(context)},
                         cohort=cohort if hasattr(cohort, "pk") else None,
                         campaign=campaign if hasattr(campaign, "pk") else None)
    broadcast(ASSISTANT, "narration", {"id": entry.pk, "event": event, "text": text,
                                       "at": entry.created_at.isoformat()})
    return entry


def narrate_on_commit(event: str, **context: Any) -> None:
    """`narrate` once the current transaction commits (never if it rolls back); a narration fault never undoes
    the work it describes."""
    transaction.on_commit(lambda: narrate(event, **context), robust=True)


def _plain(context: dict[str, Any]) -> dict[str, Any]:
    return {k: v if isinstance(v, str | int | float | bool | type(None)) else str(v) for k, v in context.items()}
