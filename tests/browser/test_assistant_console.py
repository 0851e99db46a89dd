"""The assistant's console in a browser: an operator types "grow $1,000 over 10 days", confirms, sees the
day-by-day plan as a table, and sees a narration of the campaign's first day arrive live in the feed (newest
first). Screenshots at 1440 and 390 px go to test-artifacts/."""
from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection
from playwright.sync_api import expect

from assistant.services import narration
from knowledge.models import Campaign
from knowledge.services import campaigns as campaign_services
from tests.browser.conftest import PASSWORD, daphne_serving, shot
from tests.conftest import sample_slice
from tests.factories import UserFactory

WIDTHS = {"desktop": {"width": 1440, "height": 900}, "phone": {"width": 390, "height": 844}}


def in_a_thread(work):
    """Writes from a thread of their own: Playwright's event loop runs in this one."""
    def run():
        try:
            return work()
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(run).result()


@pytest.fixture
def ten_days(shared_database, tmp_path):
    """Two bundled pairs' first ten days (2021-05-06 … 2021-05-15 UTC)."""
    from cohorts.services.market import bars_import_files

    return in_a_thread(lambda: bars_import_files(paths=[sample_slice(tmp_path, s, 10 * 1440)
                                                        for s in ["BTC-USDT", "ETH-USDT"]]))


@pytest.fixture
def day_narrated(monkeypatch):
    """Each finished campaign day is narrated. Where the narration of campaign days is not wired in yet, the
    campaign's own "day finished" announcement is narrated here, through the one narration service."""
    if "campaign.day_finished" in narration.SENTENCES:
        return
    monkeypatch.setitem(narration.SENTENCES, "campaign.day_finished", "Campaign {campaign} finished a day.")
    announce = campaign_services.campaign_announce

    def announce_and_narrate(campaign_id: int, event: str) -> None:
        announce(campaign_id, event)
        if event == "campaign.day_finished":
            narration.narrate_on_commit(event, campaign=campaign_id)

    monkeypatch.setattr(campaign_services, "campaign_announce", announce_and_narrate)


@pytest.fixture
def server(ten_days, day_narrated, settings):
    settings.TASKS_IN_THREADS = True  # the server replays the campaign in the background, as in production
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "127.0.0.1"]
    settings.LEARNING_TRIALS = 3  # the cycles after each day stay short
    settings.LEARNING_LOOKBACK_HOURS = 6
    with daphne_serving() as url:
        yield url


def shots(page, name: str) -> None:
    for size in [*WIDTHS.values()][::-1]:
        page.set_viewport_size(size)
        page.wait_for_function("document.documentElement.scrollWidth <= window.innerWidth", timeout=5_000)
        shot(page, f"assistant-{name}-{size['width']}")
    page.set_viewport_size(WIDTHS["desktop"])


def test_grow_from_the_console_shows_the_plan_and_the_first_day_arrives_live(server, page):
    in_a_thread(lambda: UserFactory(username="operator", password=PASSWORD, superuser=True))
    page.set_viewport_size(WIDTHS["desktop"])
    page.goto(f"{server}/login/")
    page.get_by_label("Username").fill("operator")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(re.compile(r"/trading/cohorts$"))

    page.get_by_role("link", name="Assistant").click()
    page.wait_for_url(re.compile(r"/assistant/$"))
    expect(page.get_by_text("Nothing has happened yet")).to_be_visible()
    shots(page, "01-empty")

    page.get_by_label("Ask the assistant").fill("grow $1,000 over 10 days")
    page.get_by_role("button", name="Ask", exact=True).click()
    answer = page.locator(".turn .answer").last
    expect(answer).to_contain_text("Grow $1,000.00 over 10 days")
    assert not in_a_thread(lambda: Campaign.objects.exists())  # nothing before the confirmation
    answer.get_by_role("button", name="Confirm").click()

    plan = page.locator("#grow-plan table")
    expect(plan).to_be_visible()
    expect(plan.locator("tbody tr")).to_have_count(10)
    expect(plan.locator("tbody tr").first).to_contain_text("2021-05-06")
    expect(plan.locator("tr.review")).to_contain_text("Day-3 review")
    campaign = in_a_thread(lambda: Campaign.objects.get())
    expect(page.locator(".turn .answer").last).to_contain_text(f"campaign {campaign.pk} grows $1,000.00 over 10 days")

    feed = page.locator("#assistant-feed li")
    expect(feed.first).to_be_visible(timeout=90_000)  # day 1 replays on the server, then is narrated
    expect(page.get_by_text("Nothing has happened yet")).to_be_hidden()
    expect(feed.first).to_contain_text(f"Campaign {campaign.pk}")
    shots(page, "02-plan-and-feed")

    page.reload()  # the conversation is kept for the session
    expect(page.locator(".turn .question").first).to_have_text("grow $1,000 over 10 days")
