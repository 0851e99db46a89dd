"""`/ws/risk/`: anonymous sockets are refused; a page that is up to date hears nothing until a leverage decision, a
breaker, the kill switch or an alert moves, and then is told to fetch its live parts with its own query."""
from __future__ import annotations

import time

import pytest
from asgiref.sync import sync_to_async
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import AnonymousUser

from neolight.realtime import RISK, broadcast
from risk.routing import websocket_urlpatterns
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


def connect(path: str, user) -> WebsocketCommunicator:
    communicator = WebsocketCommunicator(URLRouter(websocket_urlpatterns), path)
    communicator.scope["user"] = user
    return communicator


async def test_anonymous_is_refused_and_a_kill_switch_event_asks_the_page_to_refresh():
    anonymous = connect("/ws/risk/", AnonymousUser())
    connected, code = await anonymous.connect()
    assert not connected and code == 4401

    user = await sync_to_async(UserFactory)(username="reader")
    page = connect(f"/ws/risk/?subject=cohort&id=3&page=2&rendered={time.time() + 60:.3f}", user)
    assert (await page.connect())[0]
    assert await page.receive_nothing(timeout=0.3)  # rendered after every change: nothing to catch up on

    await sync_to_async(broadcast)(RISK, "unrelated", {})
    assert await page.receive_nothing(timeout=0.3)
    await sync_to_async(broadcast)(RISK, "kill_switch", {"engaged": True})
    html = await page.receive_from(timeout=5)
    assert 'id="risk-refresh" hx-swap-oob="true"' in html
    assert 'hx-get="/risk/leverage?subject=cohort&amp;id=3&amp;part=live"' in html and 'hx-trigger="load"' in html
    await page.disconnect()
