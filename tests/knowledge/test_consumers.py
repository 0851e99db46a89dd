"""Live campaign and knowledge pages: only logged-in users who may see a campaign follow it; each step
of the campaign service arrives as HTML fragments htmx swaps in by id, whatever drove the step."""
from __future__ import annotations

import re
from io import StringIO

import pytest
from channels.db import database_sync_to_async
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import AnonymousUser, Permission
from django.core.management import call_command

from knowledge.routing import websocket_urlpatterns
from knowledge.services.campaigns import campaign_advance, campaign_cancel, campaign_create, campaign_input

pytestmark = pytest.mark.django_db(transaction=True)


def connect(path: str, user) -> WebsocketCommunicator:
    communicator = WebsocketCommunicator(URLRouter(websocket_urlpatterns), path)
    communicator.scope["user"] = user
    return communicator


@pytest.fixture
def campaign(crypto_day, maker):
    data = campaign_input(bankroll="1000", days=1, start="2021-05-06", agents=10, symbols="BTC-USDT", lookback_hours=2,
                          trials=2)
    return campaign_create(data=data, user=maker)


async def test_anonymous_and_users_who_may_not_see_the_campaign_are_refused(campaign, outsider):
    anonymous = connect(f"/ws/campaigns/{campaign.pk}/", AnonymousUser())
    assert await anonymous.connect() == (False, 4401)
    assert await connect("/ws/knowledge/", AnonymousUser()).connect() == (False, 4401)
    assert await connect(f"/ws/campaigns/{campaign.pk}/", outsider).connect() == (False, 4403)


async def test_a_launched_day_arrives_on_the_campaign_page_with_its_cohort_linked(campaign, maker):
    follower = connect(f"/ws/campaigns/{campaign.pk}/", maker)
    assert (await follower.connect())[0]

    assert await database_sync_to_async(campaign_advance)(campaign_id=campaign.pk) == "launched day 1"

    fragments = [await follower.receive_from(timeout=5) for _ in range(2)]  # started, then day 1 launched
    html = fragments[-1]
    cohort_id = await database_sync_to_async(lambda: campaign.campaign_days.get(number=1).cohort_id)()
    assert 'id="campaign-days" hx-swap-oob="true"' in html and f'href="/trading/cohorts/{cohort_id}/"' in html
    assert re.search(r'id="campaign-headline"[^>]*hx-swap-oob="true"', html) and "Day 1 launched" in html
    assert 'id="campaign-chart-data"' in html
    await follower.disconnect()


async def test_a_cancel_arrives_with_who_cancelled_and_the_rerun_link(campaign, maker):
    await database_sync_to_async(maker.user_permissions.add)(
        await database_sync_to_async(Permission.objects.get)(codename="add_campaign"))
    follower = connect(f"/ws/campaigns/{campaign.pk}/", maker)
    assert (await follower.connect())[0]

    await database_sync_to_async(campaign_cancel)(campaign_id=campaign.pk, user=maker)

    html = await follower.receive_from(timeout=5)
    assert "Cancelled by maker" in html
    assert re.search(r'id="campaign-actions"[^>]*hx-swap-oob="true"', html) and f"?from={campaign.pk}" in html
    await follower.disconnect()


async def test_knowledge_followers_only_see_the_campaigns_they_may_see(campaign, maker, outsider):
    mine, theirs = connect("/ws/knowledge/", maker), connect("/ws/knowledge/", outsider)
    assert (await mine.connect())[0] and (await theirs.connect())[0]

    await database_sync_to_async(campaign_advance)(campaign_id=campaign.pk)

    seen, hidden = await mine.receive_from(timeout=5), await theirs.receive_from(timeout=5)
    assert 'id="knowledge-campaigns" hx-swap-oob="true"' in seen and f'id="campaign-row-{campaign.pk}"' in seen
    assert "Running" in seen
    assert f'id="campaign-row-{campaign.pk}"' not in hidden and "No campaigns yet" in hidden
    await mine.disconnect()
    await theirs.disconnect()


async def test_a_campaign_run_from_the_command_line_updates_the_knowledge_page(crypto_days, maker):
    maker.is_superuser = True  # sees every campaign, those started from the command line too
    follower = connect("/ws/knowledge/", maker)
    assert (await follower.connect())[0]

    await database_sync_to_async(call_command)(
        "run_campaign", "--bankroll", "1000", "--days", "1", "--start", "2021-05-07", "--agents", "10",
        "--symbols", "BTC-USDT", "--lookback", "6", "--trials", "2", "--json", stdout=StringIO(), stderr=StringIO())

    fragments = []
    while not await follower.receive_nothing(timeout=0.5):
        fragments.append(await follower.receive_from())
    assert "No campaigns yet" not in fragments[0]  # the new campaign appeared at once
    assert re.search(r"Completed</span>.*1 / 1", fragments[-1], flags=re.S)  # and its end arrived
    assert len(fragments) >= 6  # created, started, day launched, running, finished, cycle, completed
    await follower.disconnect()


async def test_the_first_page_of_entries_follows_new_entries_with_its_filters(campaign, maker):
    everything = connect("/ws/knowledge/?entries=1&kind=&campaign=&q=", maker)
    days_only = connect("/ws/knowledge/?entries=1&kind=campaign_day&campaign=&q=", maker)
    no_entries = connect("/ws/knowledge/", maker)  # an older page of entries: they stay as they are
    for follower in (everything, days_only, no_entries):
        assert (await follower.connect())[0]

    await database_sync_to_async(campaign_cancel)(campaign_id=campaign.pk, user=maker)

    html, days_html, plain = [await f.receive_from(timeout=5) for f in (everything, days_only, no_entries)]
    assert 'id="knowledge-entries" hx-swap-oob="true"' in html and "cancelled by maker" in html
    assert 'id="knowledge-entries"' in days_html and "cancelled by maker" not in days_html
    assert 'id="knowledge-entries"' not in plain
    for follower in (everything, days_only, no_entries):
        await follower.disconnect()


async def test_the_trading_days_progress_arrives_on_the_campaign_page(campaign, maker, tmp_path):
    import asyncio

    from cohorts.services.cohorts import cohort_run
    from neolight import faults

    assert await database_sync_to_async(campaign_advance)(campaign_id=campaign.pk) == "launched day 1"
    cohort_id = await database_sync_to_async(lambda: campaign.campaign_days.get(number=1).cohort_id)()
    follower = connect(f"/ws/campaigns/{campaign.pk}/", maker)
    assert (await follower.connect())[0]  # opened while day 1 waits to trade

    with faults.armed({"cohort.mid_persist": "pause"}, directory=tmp_path):  # the day stops mid-run, still trading
        # on a thread of its own, as on a worker, while the consumer answers the events it sends
        run = asyncio.ensure_future(database_sync_to_async(cohort_run, thread_sensitive=False)(cohort_id=cohort_id))
        fragments = []
        while not any(f'id="cohort-status-{cohort_id}" hx-swap-oob="true"' in f for f in fragments):
            fragments.append(await follower.receive_from(timeout=30))
        faults.release("cohort.mid_persist", tmp_path)
        await run

    progress = next(f for f in fragments if f'id="cohort-status-{cohort_id}" hx-swap-oob="true"' in f)
    assert re.search(r'<progress max="100" value="\d+"', progress) and "Running" in progress
    await follower.disconnect()


def test_whoever_started_a_campaign_may_open_its_days_cohorts(campaign, maker, client):
    campaign_advance(campaign_id=campaign.pk)
    cohort = campaign.campaign_days.get(number=1).cohort
    assert cohort.launched_by == maker
    client.force_login(maker)
    assert client.get(f"/trading/cohorts/{cohort.pk}/").status_code == 200
