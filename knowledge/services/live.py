"""Live events of campaigns and learning cycles: the pages that show them re-read what changed."""
from __future__ import annotations

from django.db import transaction

from neolight.realtime import broadcast

KNOWLEDGE_GROUP = "knowledge"  # the knowledge page: every campaign and cycle


def campaign_group(campaign_id: int) -> str:
    return f"campaign-{campaign_id}"


def campaign_announce(campaign_id: int, event: str) -> None:
    """Tells the campaign's page and the knowledge page, once the current transaction commits, that the
    campaign changed (`event`); whichever interface drove the change (web, command, beat), they re-read it."""
    payload = {"campaign": campaign_id, "event": event}
    transaction.on_commit(lambda: (broadcast(campaign_group(campaign_id), event, payload),
                                   broadcast(KNOWLEDGE_GROUP, event, payload)))
