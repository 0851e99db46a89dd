"""A deployment on the paper broker trades its genome on the bars: each engine fill becomes one broker order,
the ledger stays balanced, and at the timer's end the capital comes back to the bankroll once."""
from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction

from cohorts.models import CohortSettlement, CohortStatus
from cohorts.selectors.ledger import ledger_total, ledger_unbalanced_transactions
from cohorts.selectors.ledger_check import ledger_check
from promotions.models import DeploymentStatus, LogKind, PaperAccount, PaperOrder, PaperPosition
from promotions.services.deploy_reconcile import deployments_reconcile_all
from promotions.services.deployments import deployment_finish, deployment_rollback, deployment_start
from promotions.tasks import deployment_run_task
from tests.promotions.deployments.conftest import FUNDING, START
from tests.promotions.deployments.helpers import bankroll_cash, broker_cash, fill_orders, ledger_fills

pytestmark = pytest.mark.usefixtures("crypto_hours", "at_start", "eager")


def test_a_deployment_trades_its_fills_on_the_paper_broker_and_returns_its_capital_once_at_the_timer(
        approved, django_capture_on_commit_callbacks):
    request = approved(capital="500", hours=1)
    with django_capture_on_commit_callbacks(execute=True):
        deployment = deployment_start(request_id=request.pk, clock="replay")
    deployment.refresh_from_db()
    assert deployment.status == DeploymentStatus.COMPLETED, deployment.status_reason
    assert deployment.run.bar_at == START + timedelta(hours=1) == deployment.ends_at  # stopped at the timer

    orders, fills = fill_orders(deployment), ledger_fills(deployment)
    assert len(orders) >= 4
    assert orders == [(n, symbol, side, qty, price) for n, symbol, side, qty, price in fills[:len(orders)]]
    assert [o[0] for o in orders] == list(range(len(orders)))  # every fill sent once, in order
    assert len(fills) - len(orders) <= 2  # the rest: the engine's close-out at the end, flattened at the broker
    sent = PaperOrder.objects.filter(account__name=f"deployment-{deployment.pk}")
    assert sent.filter(client_order_id__startswith=f"nl-dep{deployment.pk}-fill").count() == len(orders)
    assert not PaperPosition.objects.filter(account__name=f"deployment-{deployment.pk}").exists()
    messages = list(deployment.log.filter(kind=LogKind.ORDER).values_list("message", flat=True))
    assert len(messages) == deployment.orders.count()
    assert all(m.startswith(("PAPER BUY ", "PAPER SELL ")) for m in messages)

    cohort = deployment.run.cohort
    assert cohort.status == CohortStatus.COMPLETED
    assert CohortSettlement.objects.filter(cohort=cohort).count() == 1
    assert ledger_check(cohort=cohort).is_sound, ledger_check(cohort=cohort).problems
    assert ledger_unbalanced_transactions() == [] and ledger_total() == 0
    # the bankroll got back exactly what the deployment's orders left at the broker
    returned = broker_cash(deployment)
    assert returned != deployment.capital
    assert bankroll_cash(deployment) == FUNDING - deployment.capital + returned

    # it has ended: nothing returns it, rolls it back or finishes it again
    assert deployment_finish(deployment_id=deployment.pk) is None
    assert deployment_rollback(deployment_id=deployment.pk, reason="too late") is None
    assert deployments_reconcile_all()["finished"] == []
    assert bankroll_cash(deployment) == FUNDING - deployment.capital + returned
    assert deployment.log.filter(kind=LogKind.COMPLETED).count() == 1
    if connection.vendor == "postgresql":  # the orders are part of the append-only promotion trail
        with pytest.raises(IntegrityError), transaction.atomic():
            deployment.orders.update(status="canceled")


@pytest.mark.parametrize("limits, breach", [({"max_drawdown": 0.0001}, "Automatic: drawdown"),
                                            ({"max_return_variance": 1e-12}, "Automatic: variance")])
def test_a_breach_of_its_limits_rolls_the_deployment_back_once(approved, django_capture_on_commit_callbacks, limits,
                                                              breach):
    request = approved(capital="500", hours=1, **limits)
    with django_capture_on_commit_callbacks(execute=True):
        deployment = deployment_start(request_id=request.pk, clock="replay")
    deployment.refresh_from_db()
    assert deployment.status == DeploymentStatus.ROLLED_BACK
    assert deployment.status_reason.startswith(breach)
    assert deployment.run.bar_at < deployment.ends_at  # it stopped at the breach, not at the timer
    rollbacks = deployment.log.filter(kind=LogKind.ROLLED_BACK)
    assert rollbacks.count() == 1 and rollbacks.get().actor is None
    assert not PaperPosition.objects.filter(account__name=f"deployment-{deployment.pk}").exists()
    cohort = deployment.run.cohort
    assert cohort.status == CohortStatus.FAILED and CohortSettlement.objects.filter(cohort=cohort).count() == 1
    assert ledger_check(cohort=cohort).is_sound, ledger_check(cohort=cohort).problems
    assert ledger_unbalanced_transactions() == [] and ledger_total() == 0
    returned = broker_cash(deployment)
    assert returned < deployment.capital
    assert bankroll_cash(deployment) == FUNDING - deployment.capital + returned

    assert deployment_rollback(deployment_id=deployment.pk, reason="again") is None
    assert deployments_reconcile_all()["finished"] == []
    assert deployment.log.filter(kind=LogKind.ROLLED_BACK).count() == 1
    assert bankroll_cash(deployment) == FUNDING - deployment.capital + returned


def test_an_order_the_broker_refuses_pauses_the_deployment_and_nothing_more_is_sent(
        approved, django_capture_on_commit_callbacks):
    request = approved(capital="500", hours=1)
    with django_capture_on_commit_callbacks(execute=True):
        deployment = deployment_start(request_id=request.pk, clock="replay", run=False)
        PaperAccount.objects.filter(name=f"deployment-{deployment.pk}").update(cash=Decimal(1))  # someone drained it
        deployment_run_task.delay(deployment.pk, "replay")
    deployment.refresh_from_db()
    [refused] = deployment.orders.filter(fill_number__isnull=False)
    assert refused.status == "insufficient_funds" and refused.filled_qty == 0
    assert "insufficient buying power" in deployment.log.get(kind=LogKind.MISMATCH).message
    # it stayed paused while its bars stepped, so the timer rolled it back, flat at the broker
    assert deployment.status == DeploymentStatus.ROLLED_BACK
    assert deployment.status_reason == "The timer ran out while paused."
    assert len(ledger_fills(deployment)) > 2
    assert bankroll_cash(deployment) == FUNDING  # nothing traded at the broker: the capital came back whole
