"""A deployment's worker killed mid-run is resumed by the minute's housekeeping once its lease lapses, and
ends with exactly the orders of an uninterrupted run: no fill sent twice, none lost."""
from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from cohorts.models import Cohort, CohortStatus
from cohorts.services.clocks import ReplayClock
from cohorts.services.cohorts import cohort_recover_stale
from promotions.brokers.base import OrderRequest
from promotions.models import DeploymentStatus, PaperOrder
from promotions.services.deploy_reconcile import deployments_reconcile_all
from promotions.services.deploy_run import client_order_id, deployment_run
from promotions.services.deployments import deployment_broker, deployment_pause, deployment_resume, deployment_start
from tests.promotions.deployments.conftest import FUNDING, WorkerKilled
from tests.promotions.deployments.helpers import bankroll_cash, broker_cash, fill_orders, ledger_fills

pytestmark = pytest.mark.usefixtures("crypto_hours", "at_start")


def started(approved):
    return deployment_start(request_id=approved(capital="500", hours=1).pk, clock="replay")


def lapse(deployment) -> None:
    """The dead worker's lease runs out."""
    Cohort.objects.filter(pk=deployment.run.cohort_id).update(lease_expires_at=timezone.now() - timedelta(seconds=1))


def sent_at_broker(deployment) -> list[str]:
    return list(PaperOrder.objects.filter(account__name=f"deployment-{deployment.pk}",
                                          client_order_id__contains="-fill").values_list("client_order_id", flat=True))


@pytest.mark.parametrize("point, hit", [("live.after_bar", 45), ("deployment.after_order", 5)],
                         ids=["after-a-bar-committed", "after-the-broker-answered-before-the-commit"])
def test_a_worker_killed_mid_run_resumes_without_sending_an_order_twice(approved, queued, kill, monkeypatch, point,
                                                                       hit):
    reference = None
    if point == "deployment.after_order":  # the same deployment, uninterrupted: the order the dead worker sent
        reference = started(approved)
        deployment_run(deployment_id=reference.pk, clock=ReplayClock(0))

    deployment = started(approved)
    kill(point, hit)
    with pytest.raises(WorkerKilled):
        deployment_run(deployment_id=deployment.pk, clock=ReplayClock(0))
    deployment.refresh_from_db()
    assert deployment.status == DeploymentStatus.RUNNING and deployment.run.cohort.status == CohortStatus.RUNNING
    before = fill_orders(deployment)
    assert before and deployment.run.bar_at < deployment.ends_at

    assert deployments_reconcile_all()["resumed"] == []  # its lease still runs: nobody takes it over
    lapse(deployment)
    plain: list[tuple] = []  # the cohorts' own recovery leaves a deployment's cohort to its deployment
    monkeypatch.setattr("cohorts.services.cohorts.enqueue", lambda task, *args: plain.append((task, *args)))
    assert cohort_recover_stale() == [] and plain == []
    assert deployments_reconcile_all()["resumed"] == [deployment.pk]
    assert ("promotions.tasks.deployment_run_task", deployment.pk) in queued
    kept = None  # (the paper broker's books roll back with the bar; an outside broker's keep the order)
    if point == "deployment.after_order":  # the broker kept the order the dead worker had sent it
        number = len(before)
        _, symbol, side, qty, _ = fill_orders(reference)[number]
        kept = deployment_broker(deployment).submit_order(OrderRequest(
            client_order_id=client_order_id(deployment.pk, number), symbol=symbol, side=side, qty=qty, mode="PAPER"))

    deployment_run(deployment_id=deployment.pk, clock=ReplayClock(0))  # what the queued task does

    deployment.refresh_from_db()
    assert deployment.status == DeploymentStatus.COMPLETED, deployment.status_reason
    orders = fill_orders(deployment)
    assert orders[:len(before)] == before and len(orders) > len(before)
    assert orders == ledger_fills(deployment)[:len(orders)]  # every fill of the ledger sent once, in order
    assert len(ledger_fills(deployment)) - len(orders) <= 2  # but the close-out, flattened at the broker
    clients = sent_at_broker(deployment)
    assert len(clients) == len(set(clients)) == len(orders)
    drawn, returned = deployment.capital, broker_cash(deployment)
    if reference is not None:
        assert [row[1:] for row in orders] == [row[1:] for row in fill_orders(reference)]
        # the resumed run found the order at the broker and recorded it rather than send it again
        assert deployment.orders.get(client_order_id=kept.client_order_id).broker_order_id == kept.broker_order_id
        drawn, returned = drawn + reference.capital, returned + broker_cash(reference)
    assert bankroll_cash(deployment) == FUNDING - drawn + returned


def test_a_paused_deployment_sends_nothing_and_sends_what_it_held_back_once_resumed(approved, kill, ops_user, risk_user):
    deployment = started(approved)
    kill("live.after_bar", 20)
    with pytest.raises(WorkerKilled):
        deployment_run(deployment_id=deployment.pk, clock=ReplayClock(0))
    deployment_pause(deployment_id=deployment.pk, reason="checking the exchange's status page", user=ops_user)
    held = len(fill_orders(deployment))

    lapse(deployment)
    kill("live.after_bar", 30)  # the resumed run steps bars 20–49 while paused
    with pytest.raises(WorkerKilled):
        deployment_run(deployment_id=deployment.pk, clock=ReplayClock(0))
    assert len(fill_orders(deployment)) == held < len(ledger_fills(deployment))  # the bars stepped, no order went

    deployment_resume(deployment_id=deployment.pk, reason="the exchange is fine", user=risk_user)
    lapse(deployment)
    deployment_run(deployment_id=deployment.pk, clock=ReplayClock(0))
    deployment.refresh_from_db()
    assert deployment.status == DeploymentStatus.COMPLETED, deployment.status_reason
    orders = fill_orders(deployment)
    assert orders == ledger_fills(deployment)[:len(orders)] and len(orders) > held
    assert len(sent_at_broker(deployment)) == len(orders)
    assert bankroll_cash(deployment) == FUNDING - deployment.capital + broker_cash(deployment)
