"""The one way services push live events to browsers: a message to a Channels group.

Groups: `cohorts` (every cohort event, for open lists), `cohort-<id>` (one cohort's page) and
`bankroll` (every movement of a bankroll's cash, for the header) and `risk` (leverage decisions, breakers,
the kill switch and alerts, for the risk page). Consumers re-read what they
show and check who may see it; a payload only names what changed.
"""
from __future__ import annotations

import logging
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

COHORTS = "cohorts"
BANKROLL = "bankroll"
ASSISTANT = "assistant"  # the assistant's narration feed: every major event as a sentence
RISK = "risk"  # leverage decisions, breakers, the kill switch, alerts: the /risk/leverage page
log = logging.getLogger(__name__)


def cohort_group(cohort_id: int) -> str:
    return f"cohort-{cohort_id}"


def broadcast(group: str, event: str, payload: dict[str, Any]) -> None:
    """Sends `payload` as event `event` to every consumer in `group` (fire and forget).

    Consumers receive `{"type": "live.event", "event": event, "payload": payload}`. The payload must
    be JSON-serialisable (amounts as strings). With the Redis layer it reaches every process's
    browsers; the in-memory layer of the embedded mode reaches only this process's.
    """
    layer = get_channel_layer()
    if layer is None:
        return
    async_to_sync(layer.group_send)(group, {"type": "live.event", "event": event, "payload": payload})
    log.debug("pushed %s to %s", event, group)  # with the ids bound where it was pushed from (request, cohort…)


def broadcast_on_commit(group: str, event: str, payload: dict[str, Any]) -> None:
    """`broadcast` once the current transaction commits (at once outside one; never if it rolls back),
    so a consumer that re-reads the database finds what the event announces."""
    transaction.on_commit(lambda: broadcast(group, event, payload))
