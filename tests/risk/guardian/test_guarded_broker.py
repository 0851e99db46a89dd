"""The pre-trade check in front of a deployment's broker: reduce-only lets a closing order through and refuses an
opening one, halted refuses every order but flattening, and the leverage ladder's tier caps what an order may add."""
from __future__ import annotations

import itertools
from datetime import timedelta
from decimal import Decimal

import pytest

from promotions.brokers.base import BrokerError, BrokerFailure, OrderRequest
from promotions.brokers.guarded import GuardedBroker
from promotions.models import DeploymentRun, PaperOrder
from promotions.services.deployments import deployment_broker, deployment_start
from risk.models import LeverageDecision, LeverageLadder, SubjectKind, TradingState
from risk.services.guardian import Reading, SubjectGuard
from tests.risk.guardian.conftest import START

pytestmark = pytest.mark.usefixtures("quarter_hour", "at_start")
NOW = START + timedelta(minutes=10)
NUMBERS = itertools.count()


@pytest.fixture
def deployment(approved):
    deployment = deployment_start(request_id=approved(capital="500").pk, run=False)
    DeploymentRun.objects.filter(deployment=deployment).update(bar_at=NOW)  # the broker prices at this bar
    return deployment


def order(side: str, qty: str) -> OrderRequest:
    return OrderRequest(client_order_id=f"t-{next(NUMBERS)}", symbol="BTC-USDT", side=side, qty=Decimal(qty), mode="PAPER")


def refused(broker, request) -> str:
    with pytest.raises(BrokerError) as caught:
        broker.submit_order(request)
    assert caught.value.kind == BrokerFailure.RISK
    return caught.value.message


def test_reduce_only_lets_closing_orders_through_and_halted_refuses_all_but_flattening(deployment):
    broker = deployment_broker(deployment)
    assert isinstance(broker, GuardedBroker)
    assert broker.submit_order(order("buy", "0.005")).is_filled  # about 0.56× the $500 capital
    guard = SubjectGuard(deployment=deployment, start_equity=500)
    guard.bar(Reading(NOW, 500))
    assert guard.bar(Reading(NOW + timedelta(minutes=1), 482)).state == TradingState.REDUCING  # 3.6 % down

    assert "reduce-only" in refused(broker, order("buy", "0.001"))
    assert broker.submit_order(order("sell", "0.002")).is_filled  # closes part of the position
    assert "would add exposure" in refused(broker, order("sell", "0.004"))  # past flat: a short opens
    assert guard.bar(Reading(NOW + timedelta(minutes=2), 470)).state == TradingState.HALTED  # 6 %: the hard stop
    assert "halted" in refused(broker, order("sell", "0.001"))
    assert PaperOrder.objects.filter(account__name=f"deployment-{deployment.pk}").count() == 2  # nothing refused got there

    flattened = broker.close_all_positions()  # flattening always passes
    assert [(o.side, o.qty) for o in flattened] == [("sell", Decimal("0.003"))]
    assert broker.positions() == []


def test_the_leverage_tier_caps_what_an_order_adds_and_says_why(deployment):
    ladder = LeverageLadder.objects.create(name="house", is_default=True)
    LeverageDecision.objects.create(subject_kind=SubjectKind.DEPLOYMENT, deployment=deployment, ladder=ladder,
                                    rule="manual", from_tier=2, to_tier=Decimal("0.5"), rationale="stepped down")
    broker = deployment_broker(deployment)
    reason = refused(broker, order("buy", "0.006"))  # about 0.67× equity
    assert reason.startswith("Refused: leverage would be 0.6") and "above the 0.50× tier" in reason
    assert broker.submit_order(order("buy", "0.004")).is_filled  # about 0.45×
    assert broker.submit_order(order("sell", "0.004")).is_filled  # closing is never capped
