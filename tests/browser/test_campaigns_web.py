"""An operator runs a campaign from the web: the start form refuses bad fields beside them, days appear
live on the campaign page and the knowledge page (cohorts linked, charts drawn), and a cancel midway
leaves a balanced ledger with every cent of capital back in the bankroll. Screenshots of the knowledge
page, the start form and the campaign page, at 1440 and 390 px, go to test-artifacts/."""
from __future__ import annotations

import re
import time

import pytest
from playwright.sync_api import expect

from cohorts.models import CohortStatus
from cohorts.selectors.cohorts import bankroll_badge
from cohorts.selectors.ledger_check import ledger_check
from cohorts.services import cohorts as cohort_services
from knowledge.models import Campaign, CampaignStatus
from tests.browser.conftest import PASSWORD, shot
from tests.conftest import sample_slice

HTMX_ERRORS = """
window.__htmxErrors = [];
for (const name of ["htmx:oobErrorNoTarget", "htmx:targetError", "htmx:swapError"]) {
  document.addEventListener(name, (e) => window.__htmxErrors.push(name));
}
"""
WIDTHS = {"desktop": {"width": 1440, "height": 900}, "phone": {"width": 390, "height": 844}}


@pytest.fixture
def four_days(transactional_db, tmp_path):
    """Two bundled pairs' first four days (2021-05-06 … 2021-05-09 UTC)."""
    from cohorts.services.market import bars_import_files

    return bars_import_files(paths=[sample_slice(tmp_path, s, 4 * 1440) for s in ["BTC-USDT", "ETH-USDT"]])


@pytest.fixture
def operator(django_user_model, four_days):
    return django_user_model.objects.create_superuser("operator", "operator@example.com", PASSWORD)


@pytest.fixture
def slow_days(monkeypatch):
    """Each day trades for about half a minute (on top of the server fixture's slowing), so the operator
    can cancel while day 2 is under way. Requested before `asgi_server`, whose process inherits it."""
    announce = cohort_services._announce
    monkeypatch.setattr(cohort_services, "_announce", lambda *a, **k: (time.sleep(0.25), announce(*a, **k)))


def shots(page, name: str) -> None:
    """A full-page screenshot at each width (the page never scrolls sideways), back at the desktop width after."""
    for size in [*WIDTHS.values()][::-1]:
        page.set_viewport_size(size)
        page.wait_for_function("document.documentElement.scrollWidth <= window.innerWidth", timeout=5_000)
        shot(page, f"campaigns-{name}-{size['width']}")


def test_campaign_started_on_the_web_runs_live_and_a_cancel_midway_leaves_the_ledger_sound(
        slow_days, asgi_server, operator, page, context):
    context.add_init_script(HTMX_ERRORS)  # every live swap must find its target
    page.set_viewport_size(WIDTHS["desktop"])
    page.goto(f"{asgi_server}/login/")
    page.get_by_label("Username").fill("operator")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(re.compile(r"/trading/cohorts$"))

    page.goto(f"{asgi_server}/knowledge/")
    expect(page.get_by_text("No campaigns yet")).to_be_visible()
    expect(page.get_by_text("manage.py run_campaign")).to_have_count(0)
    shots(page, "01-knowledge-empty")
    watcher = context.new_page()  # a second tab keeps the knowledge page open
    watcher.goto(f"{asgi_server}/knowledge/")
    watcher.evaluate("window.__sameDocument = true")

    page.locator("#knowledge-campaigns").get_by_role("link", name="Start a campaign").click()
    page.wait_for_url(re.compile(r"/knowledge/campaigns/new$"))
    expect(page.get_by_label("Start date")).to_have_value("2021-05-07")
    expect(page.get_by_label("BTC-USDT")).to_be_checked()
    page.get_by_label("Start date").fill("2021-06-01")  # no bars that day: nothing ticked
    expect(page.get_by_label("BTC-USDT")).not_to_be_checked()
    page.get_by_label("Start date").fill("2021-05-07")
    expect(page.get_by_label("ETH-USDT")).to_be_checked()
    page.get_by_label("Bankroll").fill("10")
    page.get_by_label("Trials").fill("0")
    page.get_by_role("button", name="Start campaign").click()
    expect(page.locator("#id_bankroll-error")).to_contain_text("between $50 and $100,000")
    expect(page.locator("#id_trials-error")).to_contain_text("from 1 to 5,000")
    assert not Campaign.objects.exists()
    shots(page, "02-start-form-errors")

    page.get_by_label("Bankroll").fill("1000")
    page.get_by_label("Days").fill("3")
    page.get_by_label("Agents").fill("10")
    page.get_by_label("Lookback (hours)").fill("6")
    page.get_by_label("Trials").fill("3")
    page.get_by_role("button", name="Start campaign").click()
    page.wait_for_url(re.compile(r"/knowledge/campaigns/\d+/$"))
    page.evaluate("window.__sameDocument = true")  # gone if the page reloads
    campaign = Campaign.objects.get()

    day1 = page.locator("#campaign-day-1")
    expect(day1.get_by_role("link", name=re.compile(r"Cohort #\d+"))).to_be_visible(timeout=30_000)
    expect(day1.locator(".status")).to_have_text("Running", timeout=30_000)
    expect(page.locator("#bankroll-badge")).to_contain_text("$1,000.00 at work")  # the header, live
    expect(page.get_by_text("The curve appears as soon as day 1 has traded.")).to_be_visible()
    expect(watcher.locator(f"#campaign-row-{campaign.pk}")).to_contain_text("Running", timeout=10_000)
    expect(watcher.locator("#knowledge-entries")).to_contain_text(f"Campaign {campaign.pk} created")
    shots(page, "03-campaign-day-1-running")

    expect(day1.locator(".status")).to_have_text("Completed", timeout=90_000)
    expect(page.locator("#campaign-day-2")).to_be_visible(timeout=30_000)
    expect(page.locator("#campaign-equity-chart")).to_be_visible()  # day 1's curve is drawn
    expect(page.locator("#campaign-days-done")).to_have_text("1 / 3")
    expect(watcher.locator(f"#campaign-row-{campaign.pk}")).to_contain_text("1 / 3", timeout=10_000)
    assert page.evaluate("window.__sameDocument") is True  # the days arrived live, on both pages
    assert watcher.evaluate("window.__sameDocument") is True
    assert page.evaluate("window.__htmxErrors") == [] and watcher.evaluate("window.__htmxErrors") == []

    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Cancel campaign").click()
    expect(page.locator("#campaign-status")).to_have_text("Cancelled")
    expect(page.locator("#campaign-cancelled")).to_contain_text("Cancelled by operator")
    expect(page.locator("#campaign-day-2 .status")).to_have_text(re.compile("Completed|Failed"), timeout=90_000)
    expect(watcher.locator(f"#campaign-row-{campaign.pk}")).to_contain_text("Cancelled", timeout=10_000)
    expect(watcher.locator("#knowledge-entries")).to_contain_text(f"Campaign {campaign.pk} cancelled by operator")
    expect(page.get_by_role("link", name="Re-run with the same inputs")).to_be_visible()
    expect(page.locator("#bankroll-badge")).not_to_contain_text("at work", timeout=30_000)  # all back, no reload
    page.locator("#campaign-day-1").get_by_role("link", name=re.compile(r"Cycle \d+")).click()
    cycle = campaign.cycles.get(day_number=1)
    expect(page.locator(f"#cycle-{cycle.pk} table")).to_be_visible()  # its collapsed section opened
    assert page.evaluate("window.__htmxErrors") == [] and watcher.evaluate("window.__htmxErrors") == []
    shots(page, "04-campaign-cancelled")

    campaign.refresh_from_db()
    days = list(campaign.campaign_days.select_related("cohort"))
    assert campaign.status == CampaignStatus.CANCELLED and campaign.cancelled_by == operator
    assert [d.number for d in days] == [1, 2]  # no third day started
    assert days[1].cohort.status in (CohortStatus.COMPLETED, CohortStatus.FAILED)
    assert not campaign.cycles.filter(day_number=2).exists()  # nor a cycle after the cancel
    report = ledger_check()
    assert report.is_sound, report.problems
    assert bankroll_badge()["at_work"] == 0  # every cent of capital is back

    page.get_by_role("link", name="Re-run with the same inputs").click()
    expect(page.get_by_label("Bankroll")).to_have_value("1000.00")
    expect(page.get_by_label("Days")).to_have_value("3")
    page.goto(f"{asgi_server}/knowledge/")
    shots(page, "05-knowledge-with-campaign")
