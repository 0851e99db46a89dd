"""Pages that follow what they show, in a real browser and without a reload: a cohort launched through
the API appears on the open list and completes there; a cohort finishing while its page is open renders
its results in place; the header's bankroll moves on every page; no htmx swap misses its target.
Screenshots of every cohort page at 1440 and 390 px go to test-artifacts/."""
from __future__ import annotations

import os
import re
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connection
from playwright.sync_api import Page, expect
from rest_framework.authtoken.models import Token

from cohorts.services import cohorts as cohort_services
from tests.browser import test_cohort_flow as flow

asgi_server, operator = flow.asgi_server, flow.operator  # the server and the logged-in operator, shared
PASSWORD, shot = flow.PASSWORD, flow.shot

CRYPTO = "BTC-USDT,ETH-USDT,DOGE-USDT,LTC-USDT,XRP-USDT,ADA-USDT"
LAUNCH = {"bankroll": "2500", "agents": 30, "symbols": CRYPTO.split(","), "start": "2021-05-06T00:00:00Z",
          "end": "2021-05-07T00:00:00Z"}
WIDTHS = {1440: 900, 390: 844}
WATCH = """
window.__htmxErrors = [];
window.__sockets = 0;
for (const name of ["htmx:oobErrorNoTarget", "htmx:targetError", "htmx:swapError", "htmx:responseError"]) {
  document.addEventListener(name, (e) => window.__htmxErrors.push(name + " " + (e.detail.target || "")));
}
document.addEventListener("htmx:wsOpen", () => { window.__sockets += 1; });
"""


@pytest.fixture
def gate(monkeypatch, tmp_path) -> Path:
    """Runs wait at the start of their simulation until the returned file exists, so the test sees a
    cohort running before it lets it finish. Set up before `asgi_server`, whose process inherits it."""
    opened, simulate = tmp_path / "gate-open", cohort_services._simulate

    def gated(*args, **kwargs):
        deadline = time.monotonic() + 120
        while not opened.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        return simulate(*args, **kwargs)

    monkeypatch.setattr(cohort_services, "_simulate", gated)
    return opened


def watch(page: Page, errors: list[str]) -> None:
    """Collects the page's console errors and uncaught exceptions into `errors`."""
    page.on("console", lambda m: errors.append(f"{m.text} {m.location.get('url', '')}")
            if m.type == "error" and not m.location.get("url", "").endswith("/favicon.ico") else None)
    page.on("pageerror", lambda e: errors.append(str(e)))


def log_in(page: Page, server: str, errors: list[str]) -> None:
    page.context.add_init_script(WATCH)
    watch(page, errors)
    page.set_viewport_size({"width": 1440, "height": WIDTHS[1440]})
    page.goto(f"{server}/login/")
    page.get_by_label("Username").fill("operator")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(re.compile(r"/trading/cohorts$"))


def live(page: Page, sockets: int) -> None:
    """Waits until the page's websockets are open, and marks the document so a reload would show."""
    page.wait_for_function(f"window.__sockets >= {sockets}")
    page.evaluate("window.__sameDocument = true")


def still_the_same_page(page: Page) -> None:
    assert page.evaluate("window.__sameDocument") is True, "the page reloaded"
    assert page.evaluate("window.__htmxErrors") == []


def shots(page: Page, name: str) -> None:
    """Full-page screenshots at 1440 and 390 px wide; the page is left at 1440."""
    for width in (390, 1440):
        page.set_viewport_size({"width": width, "height": WIDTHS[width]})
        shot(page, f"live-{name}-{width}")


def available() -> str:
    """The house bankroll's cash as the header writes it, read from the ledger."""
    from cohorts.selectors.cohorts import bankroll_badge

    return f"${bankroll_badge()['available']:,.2f}"


def api_launch(page: Page, server: str, user) -> int:
    token = Token.objects.get_or_create(user=user)[0].key
    answer = page.request.post(f"{server}/api/experiments/cohorts", data=LAUNCH,
                               headers={"Authorization": f"Token {token}"})
    assert answer.status == 202, answer.text()
    return answer.json()["id"]


def test_a_cohort_launched_through_the_api_appears_and_completes_on_the_open_list(
        gate, asgi_server, operator, page):
    errors: list[str] = []
    log_in(page, asgi_server, errors)
    expect(page.get_by_text("No cohorts yet")).to_be_visible()
    badge = page.locator("#bankroll-badge")
    expect(badge).to_be_hidden()  # nothing funded yet
    other = page.context.new_page()  # another page of the app, open meanwhile
    watch(other, errors)
    other.goto(f"{asgi_server}/market/")
    live(page, 2)  # the header's socket and the list's
    live(other, 1)

    cohort_id = api_launch(page, asgi_server, operator)

    row = page.locator(f"#cohort-row-{cohort_id}")
    expect(row).to_contain_text("Running")
    expect(page.locator("#cohort-rows tr").first).to_have_id(f"cohort-row-{cohort_id}")
    expect(page.locator("caption")).to_contain_text("1 cohort")
    for header in (badge, other.locator("#bankroll-badge")):
        expect(header).to_have_text(re.compile(r"Bankroll \$997,500\.00\s+·\s+\$2,500\.00 at work"))
    shots(page, "list-running")

    gate.touch()
    expect(row).to_contain_text("Completed", timeout=90_000)
    expect(row).to_contain_text("reconciled")
    expect(row.locator("td.num").last).not_to_have_text("—")
    for header in (badge, other.locator("#bankroll-badge")):
        expect(header).to_have_text(re.compile(rf"^\s*Bankroll {re.escape(available())}\s*$"))  # returned
    still_the_same_page(page)
    assert other.evaluate("window.__sameDocument") is True
    assert errors == []
    shots(page, "list-completed")
    shots(other, "market")


def test_a_cohort_finishing_while_its_page_is_open_renders_its_results_in_place(
        gate, asgi_server, operator, page):
    errors: list[str] = []
    log_in(page, asgi_server, errors)
    cohort_id = api_launch(page, asgi_server, operator)
    page.goto(f"{asgi_server}/trading/cohorts/{cohort_id}/")
    expect(page.get_by_role("heading", name="Running…")).to_be_visible()
    expect(page.locator(".kpis")).to_contain_text("Final equity—")
    live(page, 2)  # the header's socket and the cohort's
    shots(page, "cohort-running")

    gate.touch()
    expect(page.locator("#leaderboard tbody tr")).to_have_count(30, timeout=90_000)
    expect(page.locator(f"#cohort-status-{cohort_id}")).to_contain_text("Completed")
    expect(page.get_by_role("heading", name="Running…")).to_have_count(0)
    expect(page.locator(".kpis")).to_contain_text("reconciled ✓")
    expect(page.locator(".kpis")).not_to_contain_text("Final equity—")
    page.wait_for_function("() => ['parent-chart', 'utilisation-chart', 'agents-chart'].every("
                           "(id) => window.Chart && Chart.getChart(document.getElementById(id)))")
    expect(page.locator("#bankroll-badge")).not_to_contain_text("at work")
    still_the_same_page(page)
    assert errors == []
    shots(page, "cohort-completed")

    page.locator("#leaderboard tbody tr").first.get_by_role("link").click()
    page.wait_for_url(re.compile(r"/agents/\d+/$"))
    page.locator("#candles canvas").first.wait_for()
    shots(page, "agent")
    page.goto(f"{asgi_server}/trading/cohorts/launch")
    shots(page, "launch")
    assert errors == []


@pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="a command reaches the server's browsers through Redis")
def test_a_cohort_run_from_the_command_line_appears_on_the_servers_pages(asgi_server, operator, page):
    errors: list[str] = []
    log_in(page, asgi_server, errors)
    live(page, 2)

    def run_command():  # Playwright's event loop holds this thread; the command gets one of its own
        try:
            call_command("run_intraday_cohort", "--bankroll", "500", "--agents", "10", "--symbols", CRYPTO,
                         "--start", "2021-05-06T00:00:00Z", "--end", "2021-05-06T06:00:00Z", "--json")
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=1) as pool:
        command = pool.submit(run_command)
        expect(page.locator("#cohort-rows tr").first).to_contain_text("Completed", timeout=90_000)
        command.result()
    expect(page.locator("#bankroll-badge")).to_have_text(re.compile(rf"^\s*Bankroll {re.escape(available())}\s*$"))
    still_the_same_page(page)
    assert errors == []
