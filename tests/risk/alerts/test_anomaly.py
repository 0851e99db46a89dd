"""Anomaly alerts: a completed cohort's return or fill rate, or a running deployment's slippage, far outside the
history of the same figure (|z| ≥ threshold) alerts once; too short or flat a history gives no verdict."""
from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import numpy as np
import pytest
from django.utils import timezone

from cohorts.models import Agent, Cohort, CohortStatus
from promotions.models import DEPLOYMENT_STATES, DeploymentOrder, DeploymentStatus
from promotions.services.deployments import deployment_start
from risk.models import Alert, AlertRule, AlertStatus
from risk.services.alert_rules import alert_rules_check
from risk.services.anomaly import deployment_slippage_bps, zscore
from tests.factories import CohortFactory

pytestmark = pytest.mark.django_db


def reference_z(value: float, history: list[float]) -> float:
    return (value - np.mean(history)) / np.std(history, ddof=1)


def test_the_z_score_needs_enough_history_with_some_spread(settings):
    settings.RISK_ANOMALY_MIN_HISTORY = 5
    history = [0.010, 0.012, 0.008, 0.011, 0.009]
    assert zscore(-0.05, history) == pytest.approx(reference_z(-0.05, history))
    assert zscore(-0.05, history[:4]) is None  # four values: no verdict
    assert zscore(0.5, [0.01] * 8) is None  # no spread: no verdict
    assert zscore(0.011, history + [None, float("nan")]) == pytest.approx(reference_z(0.011, history))


def completed(roi: float, trades: int, finished_ago: timedelta) -> Cohort:
    """A completed one-hour cohort of two agents sharing `trades`, finished `finished_ago` ago."""
    cohort = CohortFactory(status=CohortStatus.COMPLETED, agent_count=2, roi=roi)
    for index, share in enumerate((trades // 2, trades - trades // 2)):
        Agent.objects.create(cohort=cohort, index=index, family="momentum", params={}, capital=Decimal(500),
                             trades=share)
    Cohort.objects.filter(pk=cohort.pk).update(finished_at=timezone.now() - finished_ago)
    return cohort


def test_a_cohort_whose_return_is_far_outside_its_history_alerts_once():
    rois, trades = [0.010, 0.012, 0.008, 0.011, 0.009, 0.010], [10, 12, 8, 11, 9, 10]
    for hours, (roi, count) in enumerate(zip(rois, trades), start=2):
        completed(roi, count, timedelta(hours=hours))
    assert alert_rules_check() == {"raised": [], "resolved": []}  # the past cohorts are not judged again

    normal = completed(0.0105, 10, timedelta(minutes=20))
    odd = completed(-0.05, 10, timedelta(minutes=5))
    assert alert_rules_check()["raised"] == [f"anomaly:cohort:{odd.pk}:return"]
    assert alert_rules_check()["raised"] == []  # judged again next minute: the same breach
    alert = Alert.objects.get(kind="anomaly")
    assert alert.cohort_id == odd.pk and alert.status == AlertStatus.OPEN
    history = rois + [0.0105]  # its peers: the cohorts that finished before it, the normal one included
    assert alert.data["z"] == pytest.approx(reference_z(-0.05, history), abs=1e-4) and alert.data["n"] == 7
    assert alert.message.startswith(f"Cohort {odd.pk}: return -5.00% far outside its history (z = ")
    assert not Alert.objects.filter(cohort=normal).exists()


def test_a_busier_cohort_alerts_on_its_fill_rate(settings):
    for hours, count in enumerate([10, 12, 8, 11, 9], start=2):
        completed(0.01, count, timedelta(hours=hours))
    busy = completed(0.01, 60, timedelta(minutes=1))  # 30 trades per agent-hour against about 5
    assert alert_rules_check()["raised"] == [f"anomaly:cohort:{busy.pk}:fill_rate"]


def ended(approved, *, roi: float, slippages_bps: list[int]):
    """An ended deployment whose orders filled `slippages_bps` away from the engine's price (buys)."""
    deployment = deployment_start(request_id=approved(capital="500").pk, run=False)
    DEPLOYMENT_STATES.move(deployment.pk, DeploymentStatus.ROLLED_BACK, finished_at=timezone.now())
    Cohort.objects.filter(pk=deployment.run.cohort_id).update(roi=roi)
    for number, bps in enumerate(slippages_bps):
        DeploymentOrder.objects.create(
            deployment=deployment, fill_number=number, client_order_id=f"d{deployment.pk}-{number}", mode="PAPER",
            symbol="BTC-USD", side="buy", qty=Decimal("0.01"), expected_price=Decimal(40000), status="filled",
            filled_qty=Decimal("0.01"), filled_avg_price=Decimal(40000) * (1 + Decimal(bps) / 10_000))
    return deployment


@pytest.mark.usefixtures("crypto_hours")
def test_a_deployment_slipping_far_more_than_earlier_ones_alerts_until_it_is_back_within(mid_run, approved):
    for roi, slippages in [(0.01, [1, 2]), (-0.01, [2, 3]), (0.005, [1, 1]), (-0.005, [3, 2]), (0.0, [2, 2])]:
        ended(approved, roi=roi, slippages_bps=slippages)
    slippage = deployment_slippage_bps(mid_run)
    orders = mid_run.orders.filter(fill_number__isnull=False, filled_avg_price__isnull=False)
    costs = [float((o.filled_avg_price - o.expected_price) / o.expected_price * 10_000 * (1 if o.side == "buy" else -1))
             for o in orders]
    assert costs and slippage == pytest.approx(np.mean(costs))

    assert alert_rules_check()["raised"] == [f"anomaly:deployment:{mid_run.pk}:slippage"]
    alert = Alert.objects.get(kind="anomaly")
    assert alert.deployment_id == mid_run.pk and alert.trading_mode == "PAPER"
    assert alert.data["z"] == pytest.approx(reference_z(slippage, [1.5, 2.5, 1, 2.5, 2]), abs=1e-4)
    AlertRule.objects.create(kind="anomaly", threshold=10_000)  # a threshold no figure reaches
    assert alert_rules_check()["resolved"] == [f"anomaly:deployment:{mid_run.pk}:slippage"]
