"""Services push live events through the configured channel layer (Redis when REDIS_URL is set)."""
import uuid

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from neolight.realtime import broadcast


def test_broadcast_reaches_every_member_of_the_group():
    layer = get_channel_layer()
    group = f"test-{uuid.uuid4().hex}"
    first, second = async_to_sync(layer.new_channel)(), async_to_sync(layer.new_channel)()
    for channel in (first, second):
        async_to_sync(layer.group_add)(group, channel)

    broadcast(group, "cohort.progress", {"cohort": 7, "percent": 40})

    for channel in (first, second):
        message = async_to_sync(layer.receive)(channel)
        assert message == {"type": "live.event", "event": "cohort.progress", "payload": {"cohort": 7, "percent": 40}}
