"""The one way services push live events to browsers: a message to a Channels group."""
from __future__ import annotations

from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer


def broadcast(group: str, event: str, payload: dict[str, Any]) -> None:
    """Sends `payload` as event `event` to every consumer in `group` (fire and forget).

    Consumers receive `{"type": "live.event", "event": event, "payload": payload}`. Call it
    after commit; the payload must be JSON-serialisable (amounts as strings).
    """
    layer = get_channel_layer()
    if layer is None:
        return
    async_to_sync(layer.group_send)(group, {"type": "live.event", "event": event, "payload": payload})
