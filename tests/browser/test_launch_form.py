"""The Advanced launch in a real browser: UTC date-time pickers, every symbol with data in the window ticked
(again when the window changes), and every fault of a bad request shown beside its field at once."""
from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.browser.test_cohort_flow import PASSWORD, asgi_server, operator, shot  # noqa: F401 (fixtures)


def test_advanced_launch_shows_every_fault_beside_its_field(asgi_server, operator, page):  # noqa: F811
    page.goto(f"{asgi_server}/login/")
    page.get_by_label("Username").fill("operator")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(re.compile(r"/trading/cohorts$"))
    page.goto(f"{asgi_server}/trading/cohorts/launch?mode=advanced")

    start = page.get_by_label("Start (UTC)")
    expect(start).to_have_attribute("type", "datetime-local")
    expect(start).to_have_value("2021-05-06T00:00")
    expect(page.get_by_label("End (UTC)")).to_have_value("2021-05-07T00:00")
    expect(page.locator("input[name=symbols]:checked")).to_have_count(6)
    shot(page, "08-advanced-launch")
    page.get_by_label("Start (UTC)").fill("2021-05-08T00:00")
    page.get_by_label("End (UTC)").fill("2021-05-09T00:00")
    expect(page.locator("input[name=symbols]:checked")).to_have_count(0)  # no bars that day
    page.get_by_label("Start (UTC)").fill("2021-05-06T12:00")
    expect(page.locator("input[name=symbols]:checked")).to_have_count(6)

    page.get_by_label("Bankroll").fill("10")
    page.get_by_label("Agents").fill("5")
    page.get_by_label("End (UTC)").fill("2021-05-05T00:00")
    page.get_by_role("button", name="Launch cohort").click()

    expect(page.locator("#id_bankroll-error")).to_contain_text("between $50 and $100,000")
    expect(page.locator("#id_agents-error")).to_contain_text("from 10 to 300")
    expect(page.locator("#id_end-error")).to_contain_text("must end after it starts")
    expect(page.locator("#launch-errors")).to_have_text("3 inputs need attention: each is explained beside it.")
    shot(page, "09-advanced-launch-errors")
