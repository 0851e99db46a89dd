"""The Day-3 promotion in a real browser: a three-day campaign proposes its best agent; ops and then risk (two
people) approve the request in the admin; the Day-3 page shows the deployment that the last approval started on
the paper broker (and, in the second run, on Alpaca's paper-trading API, a local stand-in); its prices fall until
the drawdown limit is breached, and the deployment is rolled back exactly once, its capital back in the bankroll.

The server (Daphne, forked) queues the deployment's run on Celery without running it: there are no live bars.
This process stores the deployment's minutes (the bundled first hour, shifted to its window and falling in the
second half) and runs it on a replay clock, as a worker would. Screenshots go to test-artifacts/."""
from __future__ import annotations

import csv
import json
import re
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from decimal import Decimal

import pytest
import redis
from django.contrib.auth.models import Permission
from django.db import connections
from playwright.sync_api import expect

from cohorts.models import CohortSettlement, CohortStatus
from cohorts.selectors.ledger import account_balance
from cohorts.selectors.ledger_check import ledger_check
from cohorts.services.clocks import ReplayClock
from cohorts.services.ledger import bankroll_cash_account
from cohorts.services.market import bars_import_files
from neolight.celery import app as celery_app
from neolight.money import quantize
from promotions.models import Deployment, DeploymentStatus, LogKind, PromotionLog, PromotionRequest, RequestStatus
from promotions.services import deploy_run
from promotions.services.day3 import day3_go_no_go
from promotions.services.deploy_run import deployment_run
from tests.browser.conftest import daphne_serving, shot
from tests.conftest import SAMPLE_DIR, sample_slice
from tests.promotions.alpaca_stub import alpaca_trading_account
from tests.promotions.day3.conftest import PAIR, member, policy  # noqa: F401
from tests.promotions.deployments.helpers import broker_cash

MAX_DRAWDOWN = 0.02  # the deployment rolls back 2% below its equity's peak
FALL_PER_MINUTE = Decimal("0.004")  # the second half-hour's prices fall 0.4% a minute from its start
ALPACA_CASH = Decimal(10_000)


@pytest.fixture(params=["paper", "alpaca"])
def broker(request, transactional_db, settings):
    """The broker a deployment starts on, set before the server forks (it inherits it); the Alpaca stand-in
    runs in this process, which steps the deployment."""
    settings.DEPLOYMENT_BROKER = request.param
    if request.param == "paper":
        yield None
        return
    with alpaca_trading_account(settings, cash=ALPACA_CASH) as stub:
        yield stub


@pytest.fixture
def server(broker, shared_database, settings, monkeypatch):
    """Daphne in a forked child sharing the test database (as tests/browser/conftest.py's `asgi_server`), with
    queued tasks left on Celery's queue: the deployment's run is this process's to drive."""
    if not settings.REDIS_URL:
        pytest.skip("the deployment's run must wait on a Celery queue (Redis)")
    settings.TASKS_IN_THREADS = False
    monkeypatch.setitem(celery_app.conf, "task_always_eager", False)
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "127.0.0.1"]
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    with daphne_serving() as url:
        yield url
    celery_app.control.purge()  # no worker ever takes what the server queued


def queued_tasks() -> list[tuple[str, str]]:
    """(task name, its arguments) of each message waiting on Celery's queues (Redis; each queue oldest first)."""
    queue = redis.Redis.from_url(celery_app.conf.broker_url)
    messages = [json.loads(m) for name in celery_app.amqp.queues for m in queue.lrange(name, 0, -1)]
    return [(m["headers"]["task"], m["headers"]["argsrepr"]) for m in reversed(messages)]


def off_loop(service, **kwargs):
    """Calls a service as a worker would, in a thread of its own: this one runs Playwright's event loop, in which
    the services' live broadcasts (async_to_sync) cannot run."""

    def work():
        try:
            return service(**kwargs)
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(work).result()


def three_day_campaign(*, tmp_path):
    """tests/promotions/day3/conftest.py's `campaign_done`: three replayed days over the two bundled pairs."""
    from knowledge.services.campaigns import campaign_create, campaign_input, campaign_replay

    tmp_path.mkdir(exist_ok=True)
    bars_import_files(paths=[sample_slice(tmp_path, s, 4 * 1440) for s in PAIR])
    campaign = campaign_create(data=campaign_input(bankroll="2000", days=3, start="2021-05-07", agents=10,
                                                   symbols=",".join(PAIR), lookback_hours=6, trials=3))
    return campaign_replay(campaign_id=campaign.pk)


@pytest.fixture
def day3_request(settings, transactional_db, approvers, policy, tmp_path) -> PromotionRequest:  # noqa: F811
    """The Day-3 go/no-go's request for a three-day campaign's best agent, signed over a 1-hour deployment that
    rolls back at a 2% drawdown (variance is not what this test breaches)."""
    settings.DEPLOYMENT_HOURS = 1
    settings.DEPLOYMENT_MAX_DRAWDOWN = MAX_DRAWDOWN
    settings.DEPLOYMENT_MAX_RETURN_VARIANCE = 1.0
    campaign = off_loop(three_day_campaign, tmp_path=tmp_path / "days")
    verdicts = off_loop(day3_go_no_go, campaign_id=campaign.pk)
    [proposed] = [v for v in verdicts if v.outcome == "proposed"]
    return PromotionRequest.objects.get(pk=proposed.request)


@pytest.fixture
def approvers(transactional_db) -> dict:
    """olivia of ops and rita of risk: staff who may read promotion requests in the admin (the request's chain
    grants their groups the signing)."""
    users = {"ops": member("olivia", "ops"), "risk": member("rita", "risk")}
    for user in users.values():
        user.is_staff = True
        user.save(update_fields=["is_staff"])
        user.user_permissions.add(Permission.objects.get(codename="view_promotionrequest"))
    return users


def falling_hour(tmp_path, start) -> list:
    """The bundled first hour of each pair, moved to start at `start`, every price falling steadily through
    its second half-hour."""
    paths = []
    for symbol in PAIR:
        with (SAMPLE_DIR / f"{symbol}_1m.csv").open() as f:
            rows = [row for _, row in zip(range(60), csv.DictReader(f), strict=False)]
        path = tmp_path / f"{symbol}_1m.csv"
        with path.open("w", newline="") as f:
            out = csv.writer(f)
            out.writerow(["timestamp", "open", "high", "low", "close", "volume"])
            for minute, row in enumerate(rows):
                factor = 1 - FALL_PER_MINUTE * max(0, minute - 29)
                prices = [(Decimal(row[k]) * factor).quantize(Decimal("0.01")) for k in ("open", "high", "low", "close")]
                out.writerow([(start + timedelta(minutes=minute)).strftime("%Y-%m-%dT%H:%M:%SZ"), *prices, row["volume"]])
        paths.append(path)
    return paths


def alpaca_cash_moved(stub) -> Decimal:
    """The cash the stand-in's filled orders moved, each order's notional to the ledger's eight places."""
    moved = Decimal(0)
    for order in stub.orders:
        if order["status"] == "filled":
            notional = quantize(Decimal(order["filled_qty"]) * Decimal(order["filled_avg_price"]))
            moved += notional if order["side"] == "sell" else -notional
    return moved


def sign_in_admin(page, base: str, username: str) -> None:
    page.goto(f"{base}/admin/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(f"{username}-password-1")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(re.compile(r"/admin/$"))


def approve_in_admin(page, base: str, request: PromotionRequest, username: str, note: str) -> None:
    page.goto(f"{base}/admin/promotions/promotionrequest/{request.pk}/change/")
    expect(page.locator("#promotion-payload")).to_contain_text(request.payload_digest)
    expect(page.locator("#promotion-checks")).to_contain_text("pass")
    page.locator("#approve-note").fill(note)
    page.get_by_role("button", name="Approve").click()
    expect(page.locator(".messagelist")).to_contain_text(f"Request {request.pk}: you approved its step.")
    expect(page.locator("#promotion-chain")).to_contain_text(note)


def test_day3_request_approved_by_ops_then_risk_deploys_and_a_drawdown_rolls_it_back_once(
        broker, server, day3_request, page, tmp_path, monkeypatch):
    name = "alpaca" if broker else "paper"
    request = day3_request
    bankroll = request.candidate.cohort.source
    cash_before = account_balance(bankroll_cash_account(bankroll))

    sign_in_admin(page, server, "olivia")
    approve_in_admin(page, server, request, "olivia", "Ops: checks and allocation look right.")
    shot(page, f"promotion-{name}-01-ops-approved")
    assert not Deployment.objects.filter(request=request).exists()  # one signature deploys nothing
    page.get_by_role("button", name="Log out").click()
    sign_in_admin(page, server, "rita")
    approve_in_admin(page, server, request, "rita", "Risk: within the micro-live limits.")
    shot(page, f"promotion-{name}-02-risk-approved")

    request.refresh_from_db()
    assert request.status == RequestStatus.APPROVED
    deployment = Deployment.objects.get(request=request)
    page.goto(f"{server}/promotions/requests/{request.pk}/")
    status = page.locator("#deployment-status")
    expect(page.get_by_role("heading", name=f"Deployment #{deployment.pk}")).to_be_visible()
    on = "Alpaca (paper trading)" if broker else "NeoLight paper broker"
    expect(status).to_contain_text(f"Starting · PAPER on {on} · ${deployment.capital:,.2f}")
    shot(page, f"promotion-{name}-03-deployed")
    # the server queued its run (on the wall clock) for a worker; none is running
    assert queued_tasks().count(("promotions.tasks.deployment_run_task", f"({deployment.pk}, 'wall')")) == 1

    # a worker's turn: the deployment's minutes arrive (falling), and its run steps them
    window_start = deployment.run.cohort.window_start
    off_loop(bars_import_files, paths=falling_hour(tmp_path, window_start))
    if broker is not None:  # Alpaca's prices follow the bars: each order fills at its bar's close
        step = deploy_run.DeploymentBar.__call__

        def priced(self, cohort, window, t, result):
            for s, symbol in enumerate(window.symbols):
                broker.set_price(symbol, Decimal(str(window.close[t, s])))
            return step(self, cohort, window, t, result)

        monkeypatch.setattr(deploy_run.DeploymentBar, "__call__", priced)
    deployment = off_loop(deployment_run, deployment_id=deployment.pk, clock=ReplayClock(0))

    assert deployment.status == DeploymentStatus.ROLLED_BACK
    assert deployment.status_reason.startswith("Automatic: drawdown")
    assert window_start + timedelta(minutes=30) < deployment.run.bar_at < deployment.ends_at  # the fall, not the timer
    assert PromotionLog.objects.filter(deployment=deployment, kind=LogKind.ROLLED_BACK).count() == 1
    cohort = deployment.run.cohort
    assert cohort.status == CohortStatus.FAILED and CohortSettlement.objects.filter(cohort=cohort).count() == 1
    assert ledger_check(cohort=cohort).is_sound, ledger_check(cohort=cohort).problems
    if broker is None:
        returned = broker_cash(deployment)
    else:
        assert len(broker.calls_to("DELETE", "/v2/positions")) == 1  # flattened at Alpaca once
        returned = deployment.capital + alpaca_cash_moved(broker)
    assert returned < deployment.capital  # the fall cost money
    assert account_balance(bankroll_cash_account(bankroll)) == cash_before - deployment.capital + returned

    # the run the server queued, reaching a worker now, finds the deployment ended and changes nothing
    assert off_loop(deployment_run, deployment_id=deployment.pk, clock=ReplayClock(0)).status == DeploymentStatus.ROLLED_BACK
    assert PromotionLog.objects.filter(deployment=deployment, kind=LogKind.ROLLED_BACK).count() == 1
    assert account_balance(bankroll_cash_account(bankroll)) == cash_before - deployment.capital + returned
    assert broker is None or len(broker.calls_to("DELETE", "/v2/positions")) == 1

    page.reload()
    expect(status).to_contain_text("Rolled back")
    expect(status).to_contain_text("drawdown")
    expect(page.locator("#log-title + ul")).to_contain_text("Rolled back: Automatic: drawdown")
    shot(page, f"promotion-{name}-04-rolled-back")
