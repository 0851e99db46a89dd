"""A deployment on Alpaca's paper-trading API (the local stand-in speaking its wire format): its fills go out as
Alpaca orders, its ledger reconciles with what moved in the Alpaca account, and its capital comes back once with
what the orders left there."""
from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from cohorts.models import Cohort
from cohorts.services.clocks import ReplayClock
from promotions.brokers.registry import broker_for
from promotions.models import DeploymentStatus, LogKind
from promotions.services.deploy_reconcile import deployment_reconcile
from promotions.services.deploy_run import deployment_run
from promotions.services.deployments import deployment_start
from tests.promotions.alpaca_stub import alpaca_trading_account
from tests.promotions.deployments.conftest import FUNDING, WorkerKilled
from tests.promotions.deployments.helpers import bankroll_cash, fill_orders, ledger_fills

pytestmark = pytest.mark.usefixtures("crypto_hours", "at_start")
ALPACA_CASH = Decimal(10_000)  # the account holds more than the deployment's capital


@pytest.fixture
def alpaca(settings, db):
    settings.DEPLOYMENT_BROKER = "alpaca"
    with alpaca_trading_account(settings, cash=ALPACA_CASH) as stub:
        stub.set_price("BTC-USDT", Decimal("56000"))
        stub.set_price("ETH-USDT", Decimal("3400"))
        yield stub


def test_a_deployment_on_alpaca_reconciles_and_returns_what_its_orders_left(alpaca, approved, kill):
    deployment = deployment_start(request_id=approved(capital="500", hours=1).pk, clock="replay")
    kill("live.after_bar", 33)
    with pytest.raises(WorkerKilled):
        deployment_run(deployment_id=deployment.pk, clock=ReplayClock(0))
    assert deployment.orders.filter(status="filled").exists()
    assert deployment_reconcile(deployment_id=deployment.pk) == "reconciled"  # what moved at Alpaca = the ledger

    alpaca.set_price("BTC-USDT", Decimal("55000"))  # Alpaca's prices move on; the ledger books the difference
    Cohort.objects.filter(pk=deployment.run.cohort_id).update(lease_expires_at=timezone.now() - timedelta(seconds=1))
    deployment_run(deployment_id=deployment.pk, clock=ReplayClock(0))
    deployment.refresh_from_db()
    assert deployment.status == DeploymentStatus.COMPLETED, deployment.status_reason
    orders = fill_orders(deployment)
    assert orders == ledger_fills(deployment)[:len(orders)]
    assert all(m.startswith("PAPER ") for m in deployment.log.filter(kind=LogKind.ORDER).values_list("message", flat=True))
    sent = [c for c in alpaca.calls if c.method == "POST" and c.path == "/v2/orders"]
    assert len(sent) == len(orders)  # one Alpaca order per fill, never a second
    gained = broker_for("alpaca", mode="PAPER").account().cash - ALPACA_CASH  # flat again: all of it is cash
    assert gained != 0 and not broker_for("alpaca", mode="PAPER").positions()
    assert bankroll_cash(deployment) == FUNDING + gained  # the capital came back with what it made at Alpaca
