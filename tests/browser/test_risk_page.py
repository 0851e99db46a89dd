"""The risk page in a real browser: a cohort run on the bundled bars shows its tier, next tier and VaR; an operator
with the permission engages the kill switch with a reason, the running deployment pauses, and a colleague's open
page shows it live (the websocket push, no reload) while their own kill switch stays disabled. Screenshots at 1440
and 390 px go to test-artifacts/."""
from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.db import connections
from django.utils import timezone
from playwright.sync_api import expect

from cohorts.models import Agent
from promotions.models import Deployment, DeploymentStatus, PromotionCandidate, PromotionRequest, RequestStatus
from tests.browser import conftest as browser
from tests.browser.conftest import PASSWORD, shot
from tests.factories import UserFactory
from tests.risk.var.conftest import CRASH_FIRST_ROW, HOURS, SYMBOLS, bundled_rows

asgi_server = browser.asgi_server


def cohort_and_running_deployment(tmp_path, owner):
    """A 10-agent cohort run on three bundled hours (and the crash's two), and a running deployment of its agent 0,
    written in a thread of their own: this one runs the browser's event loop."""
    from cohorts.services.cohorts import cohort_launch, cohort_run
    from cohorts.services.inputs import cohort_input
    from cohorts.services.market import bars_import_files
    from promotions.services.deployments import deployment_start

    def write():
        try:
            slices = [(0, 180), (CRASH_FIRST_ROW, CRASH_FIRST_ROW + 120)]
            bars_import_files(paths=[bundled_rows(tmp_path, s, slices) for s in SYMBOLS])
            launched = cohort_launch(data=cohort_input(bankroll="5000", agents=10, symbols=",".join(SYMBOLS), **HOURS),
                                     run=False, user=owner)
            cohort = cohort_run(cohort_id=launched.pk)
            agent = Agent.objects.get(cohort=cohort, index=0)
            candidate = PromotionCandidate.objects.create(
                cohort=cohort, agent=agent, rank=1, score=1.0, family=agent.family, params=agent.params,
                allocation=Decimal(500), is_eligible=True)
            now = timezone.now()
            request = PromotionRequest.objects.create(
                candidate=candidate, status=RequestStatus.APPROVED, payload_digest="0" * 64, roles=["ops", "risk"],
                decided_at=now, expires_at=now + timedelta(days=1),
                payload={"candidate": candidate.pk, "cohort": cohort.pk, "agent": 0, "family": agent.family,
                         "params": agent.params, "allocation": "500", "symbols": ["BTC-USDT", "ETH-USDT"],
                         "trading_mode": "PAPER", "bankroll": cohort.source_id,
                         "limits": {"max_drawdown": 0.05, "max_return_variance": 0.01, "hours": 1}})
            deployment = deployment_start(request_id=request.pk, run=False)
            Deployment.objects.filter(pk=deployment.pk).update(status=DeploymentStatus.RUNNING, started_at=now)
            return cohort, deployment
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(write).result()


def log_in(page, base: str, username: str) -> None:
    page.goto(f"{base}/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(re.compile(r"/trading/cohorts$"))


@pytest.fixture
def people(transactional_db):
    view = Permission.objects.get(codename="view_cohort")
    operator = UserFactory(username="operator", password=PASSWORD)
    operator.user_permissions.add(view, Permission.objects.get(codename="operate_kill_switch"))
    watcher = UserFactory(username="watcher", password=PASSWORD)
    watcher.user_permissions.add(view)
    return operator, watcher


def test_operator_engages_the_kill_switch_and_a_watchers_page_shows_it_live(asgi_server, people, page, browser,
                                                                            tmp_path):
    operator, watcher = people
    cohort, deployment = cohort_and_running_deployment(tmp_path, operator)
    risk_url = f"{asgi_server}/risk/leverage?subject=cohort&id={cohort.pk}"

    log_in(page, asgi_server, "watcher")
    page.get_by_role("link", name="Risk").click()
    page.goto(risk_url)
    expect(page.locator("#tier-current")).to_have_text("2×")
    expect(page.locator("#tier-next")).to_have_text("3×")
    expect(page.locator("#var-h95")).to_have_text(re.compile(r"^\$\d[\d,]*\.\d\d$"))
    expect(page.locator("#var-m99")).to_have_text(re.compile(r"^\$\d[\d,]*\.\d\d$"))
    expect(page.locator("#stress")).to_contain_text("replay of the 2021-05-19 crash")
    expect(page.locator("#kill-button")).to_be_disabled()
    expect(page.locator("#kill-why")).to_contain_text("Can engage and release the kill switch")
    expect(page.locator(f"#deployment-{deployment.pk}")).to_contain_text("Running")
    page.evaluate("window.notReloaded = true")

    operator_page = browser.new_context().new_page()
    log_in(operator_page, asgi_server, "operator")
    operator_page.goto(risk_url)
    operator_page.locator("#kill-reason").fill("Exchange outage: halt everything")
    operator_page.get_by_role("button", name="Engage kill switch").click()
    expect(operator_page.locator("#kill-state")).to_contain_text("Kill switch engaged")

    expect(page.locator("#kill-state")).to_contain_text("Kill switch engaged", timeout=15_000)  # pushed, not reloaded
    expect(page.locator("#kill-state")).to_contain_text("Exchange outage: halt everything")
    expect(page.locator(f"#deployment-{deployment.pk}")).to_contain_text("Paused")
    assert page.evaluate("window.notReloaded") is True
    expect(page.locator("#kill-button")).to_be_disabled()
    assert Deployment.objects.get(pk=deployment.pk).status == DeploymentStatus.PAUSED

    page.set_viewport_size({"width": 1440, "height": 900})
    shot(page, "1440-risk-leverage-kill-switch")
    page.set_viewport_size({"width": 390, "height": 844})
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    shot(page, "390-risk-leverage-kill-switch")
