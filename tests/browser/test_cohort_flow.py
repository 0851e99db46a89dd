"""An operator in a real browser: log in, launch from the guided flow, watch progress arrive live,
open the finished cohort, sort the leaderboard and open an agent. Runs against Daphne (ASGI) with
the configured channel layer (Redis in CI). Screenshots go to test-artifacts/."""
from __future__ import annotations

import re

import pytest

from tests.browser import conftest as browser
from tests.browser.conftest import PASSWORD, shot
from tests.factories import UserFactory

asgi_server = browser.asgi_server  # the server fixture lives in conftest; modules that import it from here still can


@pytest.fixture
def operator(crypto_day):
    return UserFactory(username="operator", password=PASSWORD, superuser=True)


def test_operator_launches_watches_and_explores_a_cohort(asgi_server, operator, page):
    page.goto(f"{asgi_server}/login/")
    shot(page, "01-login")
    page.get_by_label("Username").fill("operator")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(re.compile(r"/trading/cohorts$"))
    assert page.get_by_text("No cohorts yet").is_visible()
    shot(page, "02-empty-list")

    page.get_by_role("link", name="Start intraday cohort").first.click()
    page.get_by_label("Bankroll").fill("10")
    page.get_by_role("button", name="Launch cohort").click()
    assert "between $50 and $100,000" in page.locator("#id_bankroll-error").inner_text()
    shot(page, "03-launch-error")
    page.get_by_label("Bankroll").fill("2500")
    page.get_by_label("Day").select_option("2021-05-06")
    page.get_by_role("button", name="Launch cohort").click()
    page.wait_for_url(re.compile(r"/trading/cohorts/\d+/$"))
    page.evaluate("window.__sameDocument = true")  # gone if the page reloads

    progress = page.locator("[id^=cohort-status-] .progress-text")
    progress.wait_for(timeout=15_000)
    page.wait_for_function("() => { const p = document.querySelector('[id^=cohort-status-] progress');"
                           " return p && Number(p.value) > 0; }", timeout=30_000)
    shot(page, "04-running-live")
    page.locator("#leaderboard").wait_for(timeout=60_000)  # the results come in place when the run ends
    assert page.evaluate("window.__sameDocument") is True  # progress and the results came live
    assert page.get_by_text("reconciled ✓").is_visible()
    page.locator("#parent-chart").wait_for()
    shot(page, "05-cohort-detail")
    page.locator("#leaderboard").get_by_role("link", name="Sharpe").click()
    page.wait_for_url(re.compile(r"sort=sharpe"))
    sharpes = [float(t.replace("−", "-")) for t in page.locator("#leaderboard tbody tr td:nth-child(4)").all_inner_texts()]
    assert sharpes == sorted(sharpes, reverse=True) and len(sharpes) == 30
    shot(page, "06-leaderboard-by-sharpe")

    page.locator("#leaderboard tbody tr").first.get_by_role("link").click()
    page.wait_for_url(re.compile(r"/agents/\d+/$"))
    page.locator("#candles canvas").first.wait_for()
    assert page.get_by_role("heading", name=re.compile(r"with this agent's fills")).is_visible()
    shot(page, "07-agent")
