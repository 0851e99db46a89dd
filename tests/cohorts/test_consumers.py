"""Live updates: only logged-in users with access to a cohort may follow it; events arrive as HTML."""
from __future__ import annotations

import os
import uuid

import pytest
from channels.db import database_sync_to_async
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.utils import timezone

from cohorts.models import Cohort
from cohorts.routing import websocket_urlpatterns
from neolight.asgi import application
from neolight.realtime import broadcast

pytestmark = pytest.mark.django_db(transaction=True)


def connect(path: str, user=None) -> WebsocketCommunicator:
    communicator = WebsocketCommunicator(URLRouter(websocket_urlpatterns), path)
    if user is not None:
        communicator.scope["user"] = user
    return communicator


@pytest.fixture
def pending(crypto_day, maker):
    from cohorts.services.cohorts import cohort_launch
    from cohorts.services.inputs import cohort_input

    data = cohort_input(bankroll="1000", agents=10, symbols="BTC-USDT", start="2021-05-06T00:00:00Z",
                        end="2021-05-06T01:00:00Z")
    cohort = cohort_launch(data=data, user=maker, run=False)
    return cohort


async def test_anonymous_websocket_is_refused(pending):
    from django.contrib.auth.models import AnonymousUser

    communicator = connect(f"/ws/cohorts/{pending.pk}/", AnonymousUser())
    connected, code = await communicator.connect()
    assert not connected and code == 4401


async def test_websocket_from_a_foreign_origin_is_refused(pending):
    communicator = WebsocketCommunicator(application, f"/ws/cohorts/{pending.pk}/",
                                         headers=[(b"origin", b"http://evil.example.com")])
    connected, _ = await communicator.connect()
    assert not connected


async def test_user_without_access_to_the_cohort_is_refused(pending, outsider):
    communicator = connect(f"/ws/cohorts/{pending.pk}/", outsider)
    connected, code = await communicator.connect()
    assert not connected and code == 4403


async def test_progress_arrives_as_a_fragment_htmx_swaps_by_id(pending, maker):
    communicator = connect(f"/ws/cohorts/{pending.pk}/", maker)
    connected, _ = await communicator.connect()
    assert connected

    await database_sync_to_async(Cohort.objects.filter(pk=pending.pk).update)(
        status="running", progress=40, lease_token=uuid.uuid4(), lease_expires_at=timezone.now())
    await database_sync_to_async(broadcast)(f"cohort-{pending.pk}", "cohort.progress", {"cohort": pending.pk})

    html = await communicator.receive_from(timeout=5)
    assert f'id="cohort-status-{pending.pk}" hx-swap-oob="true"' in html
    assert 'value="40"' in html and "Running" in html
    await communicator.disconnect()


async def test_list_followers_only_hear_of_cohorts_they_may_see(pending, maker, outsider):
    mine, theirs = connect("/ws/cohorts/", maker), connect("/ws/cohorts/", outsider)
    assert (await mine.connect())[0] and (await theirs.connect())[0]

    await database_sync_to_async(broadcast)("cohorts", "cohort.started", {"cohort": pending.pk})

    assert f"cohort-status-{pending.pk}" in await mine.receive_from(timeout=5)
    assert await theirs.receive_nothing(timeout=0.5)
    await mine.disconnect()
    await theirs.disconnect()


@pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="needs Redis: set REDIS_URL")
async def test_idle_websocket_on_redis_stays_up_and_still_receives_events(pending, maker):
    """The Redis layer's blocking pop must not time out the socket of a follower nobody talks to."""
    from django.conf import settings

    assert settings.CHANNEL_LAYERS["default"]["BACKEND"] == "channels_redis.core.RedisChannelLayer"
    communicator = connect(f"/ws/cohorts/{pending.pk}/", maker)
    assert (await communicator.connect())[0]

    assert await communicator.receive_nothing(timeout=60, interval=1)  # idle for a minute: no close, no error
    await database_sync_to_async(broadcast)(f"cohort-{pending.pk}", "cohort.progress", {"cohort": pending.pk})

    assert f"cohort-status-{pending.pk}" in await communicator.receive_from(timeout=5)
    await communicator.disconnect()
