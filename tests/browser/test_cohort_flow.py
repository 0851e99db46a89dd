"""An operator in a real browser: log in, launch from the guided flow, watch progress arrive live,
open the finished cohort, sort the leaderboard and open an agent. Runs against Daphne (ASGI) with
the configured channel layer (Redis in CI). Screenshots go to test-artifacts/."""
from __future__ import annotations

import re
import time
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path

import pytest
from asgiref.sync import AsyncToSync, SyncToAsync
from channels.layers import channel_layers
from channels.testing.live import make_application
from daphne.testing import DaphneProcess
from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler
from django.db import connection, connections

from cohorts.services import cohorts as cohort_services
from tests.factories import UserFactory

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
PASSWORD = "operator-password-1"


@pytest.fixture
def asgi_server(transactional_db, settings, monkeypatch):
    """Daphne serving NeoLight in a child process that shares the test database."""
    if connection.vendor == "sqlite" and connection.is_in_memory_db():
        pytest.skip("the browser tests need a database a second process can open (PostgreSQL in CI)")
    settings.TASKS_IN_THREADS = True  # the server runs launched cohorts in the background, as in production
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "127.0.0.1"]
    # Slow the run down just enough for a person (and this test) to watch its progress arrive.
    monkeypatch.setattr(cohort_services, "PROGRESS_CHUNK_BARS", 15)
    announce = cohort_services._announce
    monkeypatch.setattr(cohort_services, "_announce", lambda *a, **k: (time.sleep(0.08), announce(*a, **k)))
    connections.close_all()  # the child must not share the parent's database sockets…
    channel_layers.backends.clear()  # …nor a channel layer bound to an event loop of an earlier test
    server = DaphneProcess("127.0.0.1", partial(make_application, static_wrapper=ASGIStaticFilesHandler),
                           setup=_fresh_thread_pools)
    server.start()
    if not server.ready.wait(timeout=30):
        server.terminate()
        pytest.fail("Daphne did not start")
    yield f"http://127.0.0.1:{server.port.value}"
    server.terminate()
    server.join()


def _fresh_thread_pools() -> None:
    """In the forked server: asgiref's shared executor came from the parent without its thread, so
    anything handed to it would wait forever; give the child one of its own."""
    SyncToAsync.single_thread_executor = ThreadPoolExecutor(max_workers=1)
    AsyncToSync.loop_thread_executors.clear()


@pytest.fixture
def operator(crypto_day):
    return UserFactory(username="operator", password=PASSWORD, superuser=True)


def shot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


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
    page.get_by_role("link", name="Show results").wait_for(timeout=60_000)
    assert page.evaluate("window.__sameDocument") is True  # progress and the result notice came live
    page.get_by_role("link", name="Show results").click()

    page.locator("#leaderboard").wait_for()
    assert page.get_by_text("reconciled ✓").is_visible()
    page.locator("#parent-chart").wait_for()
    shot(page, "05-cohort-detail")
    page.locator("#leaderboard").get_by_role("link", name="Sharpe").click()
    page.wait_for_url(re.compile(r"sort=sharpe"))
    sharpes = [float(t) for t in page.locator("#leaderboard tbody tr td:nth-child(4)").all_inner_texts()]
    assert sharpes == sorted(sharpes, reverse=True) and len(sharpes) == 30
    shot(page, "06-leaderboard-by-sharpe")

    page.locator("#leaderboard tbody tr").first.get_by_role("link").click()
    page.wait_for_url(re.compile(r"/agents/\d+/$"))
    page.locator("#candles canvas").first.wait_for()
    assert page.get_by_role("heading", name=re.compile(r"with this agent's fills")).is_visible()
    shot(page, "07-agent")
