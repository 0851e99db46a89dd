"""Every page on a 390 px phone: nothing scrolls sideways but a wide table inside its own box.
Screenshots of each page go to test-artifacts/390-*.png, and at 1440 px to test-artifacts/1440-*.png."""
from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor

from django.db import connection
from playwright.sync_api import expect

from knowledge.services.campaigns import campaign_create, campaign_input
from tests.browser.test_cohort_flow import PASSWORD, asgi_server, operator, shot  # noqa: F401  (fixtures)
from tests.cohorts.test_cohorts import launch_and_run

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1440, "height": 900}


def page_width(page) -> int:
    return page.evaluate("document.documentElement.scrollWidth")


def stored_cohort_and_campaign():
    """A completed cohort and a campaign, written from a thread of their own: the browser's event loop
    runs in this one, and the services' live broadcasts must not run inside it."""
    def write():
        try:
            cohort = launch_and_run(agents=12, symbols="BTC-USDT,ETH-USDT,DOGE-USDT,LTC-USDT")
            campaign = campaign_create(data=campaign_input(bankroll="1000", days=1, start="2021-05-06", agents=10,
                                                           symbols="BTC-USDT,ETH-USDT", lookback_hours=6, trials=3))
            return cohort, campaign
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(write).result()


def test_every_page_fits_a_390_px_screen(asgi_server, operator, page):  # noqa: F811
    cohort, campaign = stored_cohort_and_campaign()
    page.set_viewport_size(PHONE)
    page.goto(f"{asgi_server}/login/")
    widths = {"login": page_width(page)}
    shot(page, "390-login")
    page.get_by_label("Username").fill("operator")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(re.compile(r"/trading/cohorts$"))

    pages = {
        "cohorts": "/trading/cohorts",
        "launch": "/trading/cohorts/launch",
        "cohort": f"/trading/cohorts/{cohort.pk}/",
        "agent": f"/trading/cohorts/{cohort.pk}/agents/0/",
        "events": f"/trading/cohorts/{cohort.pk}/events/",
        "market": "/market/",
        "providers": "/market/providers",
        "knowledge": "/knowledge/",
        "campaign": f"/knowledge/campaigns/{campaign.pk}/",
        "new-campaign": "/knowledge/campaigns/new",
        "promotions": "/promotions/",
        "risk": "/risk/leverage",
        "assistant": "/assistant/",
        "not-found": "/trading/no-such-page/",
    }
    for name, path in pages.items():
        page.goto(f"{asgi_server}{path}")
        expect(page.locator("main h1").first).to_be_visible()
        widths[name] = page_width(page)
        shot(page, f"390-{name}")

    # the admin and the API's docs are other people's pages: they must fit as well
    for name, path, ready in (("admin", "/admin/", "#content h1"), ("admin-cohorts", "/admin/cohorts/cohort/", "#content h1"),
                              ("api-docs", "/api/docs/", ".swagger-ui .info")):
        page.goto(f"{asgi_server}{path}")
        expect(page.locator(ready).first).to_be_visible()
        widths[name] = page_width(page)
        shot(page, f"390-{name}")

    assert {name: w for name, w in widths.items() if w > PHONE["width"]} == {}

    page.set_viewport_size(DESKTOP)  # and every page on a desktop screen, for the record
    for name, path in pages.items():
        page.goto(f"{asgi_server}{path}")
        expect(page.locator("main h1").first).to_be_visible()
        assert page_width(page) <= DESKTOP["width"], name
        shot(page, f"1440-{name}")
