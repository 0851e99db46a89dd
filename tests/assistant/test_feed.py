"""The assistant's feed: a narration is stored in the knowledge base once its transaction commits (never if it rolls
back) and reaches every open console over `/ws/assistant/`; anonymous sockets are refused."""
from __future__ import annotations

import pytest
from asgiref.sync import sync_to_async
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import AnonymousUser
from django.db import transaction

from assistant.routing import websocket_urlpatterns
from assistant.services.narration import narrate_on_commit
from knowledge.models import EntryKind, KnowledgeEntry
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


def connect(user) -> WebsocketCommunicator:
    communicator = WebsocketCommunicator(URLRouter(websocket_urlpatterns), "/ws/assistant/")
    communicator.scope["user"] = user
    return communicator


def say_then(fail: bool) -> None:
    with transaction.atomic():
        narrate_on_commit("cohort.started", cohort=41, agents=30, bankroll="$5,000.00")
        if fail:
            raise RuntimeError("the launch failed")


async def test_a_committed_event_is_narrated_live_and_a_rolled_back_one_never_is():
    anonymous = connect(AnonymousUser())
    assert (await anonymous.connect()) == (False, 4401)
    console = connect(await sync_to_async(UserFactory)(username="reader"))
    assert (await console.connect())[0]

    with pytest.raises(RuntimeError):
        await sync_to_async(say_then)(True)
    assert await console.receive_nothing(timeout=0.3)
    await sync_to_async(say_then)(False)

    said = await console.receive_json_from(timeout=5)
    assert said["event"] == "cohort.started" and said["text"] == "Cohort 41 started: 30 agents on $5,000.00."
    entries = await sync_to_async(list)(KnowledgeEntry.objects.filter(kind=EntryKind.NARRATION).values_list("title", flat=True))
    assert entries == ["Cohort 41 started: 30 agents on $5,000.00."]
    await console.disconnect()
