"""`/ws/assistant/`: the assistant's live feed — each narration as it is written."""
from __future__ import annotations

import json

from cohorts.consumers import LiveConsumer
from neolight.realtime import ASSISTANT


class FeedConsumer(LiveConsumer):
    """Every logged-in user follows the feed; each message is the narration's id, event, sentence and time."""

    def groups_for(self, user) -> tuple[str, ...]:
        return (ASSISTANT,)

    def live_event(self, message):
        if message.get("event") == "narration":
            self.send(text_data=json.dumps(message["payload"]))
