"""Live updates: only logged-in users with access to a cohort may follow it; events arrive as HTML
fragments for what the page shows, sent by the services whoever called them, after they commit."""
from __future__ import annotations

import asyncio
import os
import re
import uuid

import pytest
from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.core.management import call_command
from django.db import connection, transaction
from django.utils import timezone

from cohorts.models import Cohort
from cohorts.routing import websocket_urlpatterns
from neolight.asgi import application
from neolight.realtime import broadcast

pytestmark = pytest.mark.django_db(transaction=True)
HOUR = {"symbols": "BTC-USDT", "start": "2021-05-06T00:00:00Z", "end": "2021-05-06T01:00:00Z"}


def connect(path: str, user=None) -> WebsocketCommunicator:
    communicator = WebsocketCommunicator(URLRouter(websocket_urlpatterns), path)
    if user is not None:
        communicator.scope["user"] = user
    return communicator


async def follow(path: str, user) -> tuple[WebsocketCommunicator, str]:
    """Connects as `user` and returns the socket with the catch-up message every page gets first."""
    communicator = connect(path, user)
    connected, code = await communicator.connect()
    assert connected, code
    return communicator, await communicator.receive_from(timeout=5)


def launch(user, bankroll="1000", run=False) -> Cohort:
    from cohorts.services.cohorts import cohort_launch
    from cohorts.services.inputs import cohort_input

    return cohort_launch(data=cohort_input(bankroll=bankroll, agents=10, **HOUR), user=user, run=run)


async def until(communicator: WebsocketCommunicator, text: str) -> str:
    """The first message holding `text` (spaces collapsed); earlier ones are skipped."""
    while text not in (html := " ".join((await communicator.receive_from(timeout=30)).split())):
        pass
    return html


def text(html: str) -> str:
    return re.sub(r"<[^>]+>", "", html)


def top_level_ids(html: str) -> list[str]:
    """The ids htmx swaps out of band: those of the message's top-level elements."""
    return re.findall(r'^<\w+ id="([^"]+)"[^>]*hx-swap-oob', html, flags=re.M)


@pytest.fixture
def pending(crypto_day, maker):
    return launch(maker)


@pytest.fixture
def viewer(django_user_model):
    """Operations: may see every cohort, whoever launched it (the command launches as nobody)."""
    from django.contrib.auth.models import Permission

    user = django_user_model.objects.create_user("ops", "ops@example.com", "ops-password-1")
    user.user_permissions.add(Permission.objects.get(codename="view_cohort"))
    return django_user_model.objects.get(pk=user.pk)


async def test_anonymous_websocket_is_refused(pending):
    from django.contrib.auth.models import AnonymousUser

    for path in (f"/ws/cohorts/{pending.pk}/", "/ws/cohorts/", "/ws/live/"):
        communicator = connect(path, AnonymousUser())
        connected, code = await communicator.connect()
        assert not connected and code == 4401
        await communicator.disconnect()


async def test_websocket_from_a_foreign_origin_is_refused(pending):
    communicator = WebsocketCommunicator(application, f"/ws/cohorts/{pending.pk}/",
                                         headers=[(b"origin", b"http://evil.example.com")])
    connected, _ = await communicator.connect()
    assert not connected
    await communicator.disconnect()


async def test_user_without_access_to_the_cohort_is_refused(pending, outsider):
    communicator = connect(f"/ws/cohorts/{pending.pk}/", outsider)
    connected, code = await communicator.connect()
    assert not connected and code == 4403
    await communicator.disconnect()


async def test_progress_arrives_as_a_fragment_htmx_swaps_by_id(pending, maker):
    communicator, caught_up = await follow(f"/ws/cohorts/{pending.pk}/", maker)
    assert top_level_ids(caught_up) == [f"cohort-status-{pending.pk}"] and "Pending" in caught_up

    await database_sync_to_async(Cohort.objects.filter(pk=pending.pk).update)(
        status="running", progress=40, lease_token=uuid.uuid4(), lease_expires_at=timezone.now())
    await database_sync_to_async(broadcast)(f"cohort-{pending.pk}", "cohort.progress", {"cohort": pending.pk})

    html = await communicator.receive_from(timeout=5)
    assert top_level_ids(html) == [f"cohort-status-{pending.pk}"]
    assert 'value="40"' in html and "Running" in html
    await communicator.disconnect()


async def test_a_finished_run_brings_its_results_in_place(pending, maker):
    communicator, _ = await follow(f"/ws/cohorts/{pending.pk}/", maker)

    await database_sync_to_async(call_command)("recover_runs", "--orphaned")  # fails and refunds it
    html = await communicator.receive_from(timeout=5)

    assert top_level_ids(html) == [f"cohort-status-{pending.pk}", "cohort-live"]
    assert "Failed" in html and "Running" not in html
    assert f'hx-get="/trading/cohorts/{pending.pk}/"' in html
    assert 'hx-select="#cohort-results"' in html and 'hx-trigger="load"' in html
    await communicator.disconnect()


async def test_a_page_opened_just_before_the_end_catches_up_on_connect(pending, maker):
    await database_sync_to_async(call_command)("recover_runs", "--orphaned")

    communicator, caught_up = await follow(f"/ws/cohorts/{pending.pk}/", maker)

    assert top_level_ids(caught_up) == [f"cohort-status-{pending.pk}", "cohort-live"]
    assert 'hx-select="#cohort-results"' in caught_up
    await communicator.disconnect()


async def test_the_list_re_renders_with_a_launched_cohort_on_top(crypto_day, maker):
    communicator, caught_up = await follow("/ws/cohorts/", maker)
    assert top_level_ids(caught_up) == ["cohort-list"] and "No cohorts yet" in caught_up

    first = await database_sync_to_async(launch)(maker)
    html = await communicator.receive_from(timeout=5)
    assert top_level_ids(html) == ["cohort-list"] and f'id="cohort-row-{first.pk}"' in html

    second = await database_sync_to_async(launch)(maker)
    html = await communicator.receive_from(timeout=5)
    assert html.index(f'id="cohort-row-{second.pk}"') < html.index(f'id="cohort-row-{first.pk}"')
    assert "2 cohorts" in html
    await communicator.disconnect()


async def test_list_followers_only_hear_of_cohorts_they_may_see(crypto_day, maker, outsider):
    (mine, _), (theirs, _) = await follow("/ws/cohorts/", maker), await follow("/ws/cohorts/", outsider)

    cohort = await database_sync_to_async(launch)(maker)
    assert f"cohort-row-{cohort.pk}" in await mine.receive_from(timeout=5)
    for event in ("cohort.started", "cohort.progress"):
        await database_sync_to_async(broadcast)("cohorts", event, {"cohort": cohort.pk, "progress": 30})
        assert top_level_ids(await mine.receive_from(timeout=5)) == [f"cohort-status-{cohort.pk}"]
    await database_sync_to_async(call_command)("recover_runs", "--orphaned")
    assert top_level_ids(await mine.receive_from(timeout=5)) == [f"cohort-row-{cohort.pk}"]

    assert await theirs.receive_nothing(timeout=0.5)  # not the launch, the progress nor the end
    await mine.disconnect()
    await theirs.disconnect()


async def test_events_for_cohorts_not_on_the_page_send_nothing(crypto_day, maker):
    older = await database_sync_to_async(launch)(maker)
    failed_only, caught_up = await follow("/ws/cohorts/?status=failed", maker)
    assert "No cohort matches these filters" in caught_up
    other_day, _ = await follow("/ws/cohorts/?date=2021-05-07", maker)

    newer = await database_sync_to_async(launch)(maker)
    await database_sync_to_async(broadcast)("cohorts", "cohort.progress", {"cohort": older.pk, "progress": 5})
    assert await failed_only.receive_nothing(timeout=0.5)

    await database_sync_to_async(call_command)("recover_runs", "--orphaned")  # both fail: now they match
    html = await failed_only.receive_from(timeout=5)
    assert top_level_ids(html) == ["cohort-list"]
    assert f"cohort-row-{older.pk}" in html and f"cohort-row-{newer.pk}" in html
    assert await other_day.receive_nothing(timeout=0.5)  # not the launch, the progress nor the failures
    await failed_only.disconnect()
    await other_day.disconnect()


async def test_a_launch_rolled_back_is_never_announced(crypto_day, maker):
    communicator, _ = await follow("/ws/cohorts/", maker)
    header, _ = await follow("/ws/live/", maker)

    def launch_then_roll_back():
        with pytest.raises(RuntimeError), transaction.atomic():
            launch(maker)
            raise RuntimeError("the caller's transaction fails")

    await database_sync_to_async(launch_then_roll_back)()
    assert await communicator.receive_nothing(timeout=0.5)
    assert await header.receive_nothing(timeout=0.1)
    await communicator.disconnect()
    await header.disconnect()


async def test_the_header_badge_follows_the_bankroll_on_every_page(crypto_day, maker, outsider):
    header, caught_up = await follow("/ws/live/", outsider)
    assert top_level_ids(caught_up) == ["bankroll-badge"] and " hidden" in caught_up  # no bankroll yet

    await database_sync_to_async(launch)(maker)  # funds the house once, then draws $1,000
    html = await until(header, "Bankroll $999,000.00 · $1,000.00 at work")
    assert top_level_ids(html) == ["bankroll-badge"]

    await database_sync_to_async(call_command)("recover_runs", "--orphaned")  # refunded
    html = await until(header, "Bankroll $1,000,000.00")
    assert "at work" not in text(html)
    await header.disconnect()


async def test_funding_the_house_moves_the_badge_once(outsider):
    from cohorts.services.cohorts import house_bankroll

    header, _ = await follow("/ws/live/", outsider)

    await database_sync_to_async(house_bankroll)()  # funded with HOUSE_BANKROLL_FUNDING
    assert top_level_ids(await until(header, "Bankroll $1,000,000.00")) == ["bankroll-badge"]
    await database_sync_to_async(house_bankroll)()  # already funded: nothing moves, nothing is sent
    assert await header.receive_nothing(timeout=0.5)
    await header.disconnect()


async def test_a_run_from_the_command_line_reaches_open_pages(crypto_day, viewer):
    """The command's process broadcasts like the server's (with Redis, to every process's browsers)."""
    communicator, _ = await follow("/ws/cohorts/", viewer)
    header, _ = await follow("/ws/live/", viewer)

    def run_command():  # in a thread of its own, as if in a process of its own
        try:
            call_command("run_intraday_cohort", "--bankroll", "500", "--agents", "10", "--symbols", HOUR["symbols"],
                         "--start", HOUR["start"], "--end", HOUR["end"], "--json")
        finally:
            connection.close()

    command = asyncio.ensure_future(sync_to_async(run_command, thread_sensitive=False)())
    messages = [await communicator.receive_from(timeout=60)]
    while "Completed" not in messages[-1]:
        messages.append(await communicator.receive_from(timeout=60))
    await command

    assert top_level_ids(messages[0]) == ["cohort-list"] and "cohort-row-" in messages[0]
    assert any('class="progress-text">' in m for m in messages[1:-1])  # progress arrived while it ran
    assert top_level_ids(messages[-1])[0].startswith("cohort-row-") and "reconciled" in messages[-1]
    await until(header, "· $500.00 at work")
    while "at work" in text(await header.receive_from(timeout=5)):  # until the return: nothing at work any more
        pass
    await header.disconnect()
    await communicator.disconnect()


@pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="needs Redis: set REDIS_URL")
async def test_idle_websocket_on_redis_stays_up_and_still_receives_events(pending, maker):
    """The Redis layer's blocking pop must not time out the socket of a follower nobody talks to."""
    from django.conf import settings

    assert settings.CHANNEL_LAYERS["default"]["BACKEND"] == "channels_redis.core.RedisChannelLayer"
    communicator, _ = await follow(f"/ws/cohorts/{pending.pk}/", maker)

    # idle for three of the layer's 5 s blocking pops (each used to time out the socket): no close, no error
    assert await communicator.receive_nothing(timeout=16, interval=1)
    await database_sync_to_async(broadcast)(f"cohort-{pending.pk}", "cohort.progress", {"cohort": pending.pk})

    assert f"cohort-status-{pending.pk}" in await communicator.receive_from(timeout=5)
    await communicator.disconnect()


async def test_a_live_runs_bar_shows_its_figures_on_the_cohort_page(pending, maker):
    communicator, _ = await follow(f"/ws/cohorts/{pending.pk}/", maker)
    await database_sync_to_async(Cohort.objects.filter(pk=pending.pk).update)(
        status="running", progress=12, lease_token=uuid.uuid4(), lease_expires_at=timezone.now())
    figures = {"cohort": pending.pk, "progress": 12, "bar": 7, "fills": 42, "ts": "2021-05-06T00:07",
               "equity": "1012.34", "roi": 0.01234, "leaders": [{"agent": 3, "roi": 0.051}, {"agent": 0, "roi": 0.02}]}
    await database_sync_to_async(broadcast)(f"cohort-{pending.pk}", "cohort.progress", figures)

    raw = await communicator.receive_from(timeout=5)
    assert top_level_ids(raw) == [f"cohort-status-{pending.pk}", "cohort-live"]
    html = " ".join(raw.split())
    shown = text(html)
    assert "Live at00:07 UTC" in shown and "Parent equity$1,012.34" in shown and "ROI so far+1.23%" in shown
    assert "Fills42" in shown and f'href="/trading/cohorts/{pending.pk}/agents/3/">#3</a> +5.10%' in html
    await communicator.disconnect()
