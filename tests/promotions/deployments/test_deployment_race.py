"""Two workers that see the same breach and roll the deployment back at the same moment: one rollback, one
no-op; the broker is flattened once and the capital comes back once (PostgreSQL row locks)."""
from __future__ import annotations

import threading

import pytest
from django.db import connection

from cohorts.models import CohortSettlement
from cohorts.services.clocks import ReplayClock
from promotions.brokers.paper import PaperBroker
from promotions.models import Deployment, DeploymentStatus, LogKind, PaperPosition
from promotions.services.deploy_run import deployment_run
from promotions.services.deployments import deployment_rollback, deployment_start
from tests.promotions.deployments.conftest import FUNDING, WorkerKilled
from tests.promotions.deployments.helpers import bankroll_cash, broker_cash

pytestmark = [
    pytest.mark.skipif("connection.vendor != 'postgresql'", reason="row locks need PostgreSQL"),
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("crypto_hours", "at_start"),
]


def test_two_workers_rolling_back_at_once_roll_back_exactly_once(approved, queued, kill, ops_user, risk_user,
                                                                 monkeypatch):
    deployment = deployment_start(request_id=approved(capital="500", hours=1).pk, clock="replay")
    kill("live.after_bar", 45)
    with pytest.raises(WorkerKilled):
        deployment_run(deployment_id=deployment.pk, clock=ReplayClock(0))
    assert deployment.orders.exists()

    closes: list[str] = []
    close_all = PaperBroker.close_all_positions

    def counted(self):
        closes.append(self.account_name)
        return close_all(self)

    monkeypatch.setattr(PaperBroker, "close_all_positions", counted)
    barrier, results, errors = threading.Barrier(2), [], []

    def worker(user) -> None:
        try:
            barrier.wait(timeout=10)
            results.append(deployment_rollback(deployment_id=deployment.pk, reason=f"{user.username} saw the breach",
                                               user=user))
        except Exception as exc:  # noqa: BLE001 (reported below)
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(user,)) for user in (ops_user, risk_user)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    assert sorted(result is None for result in results) == [False, True]
    assert closes == [f"deployment-{deployment.pk}"]
    deployment = Deployment.objects.get(pk=deployment.pk)
    assert deployment.status == DeploymentStatus.ROLLED_BACK
    assert deployment.log.filter(kind=LogKind.ROLLED_BACK).count() == 1
    assert CohortSettlement.objects.filter(cohort_id=deployment.run.cohort_id).count() == 1
    assert not PaperPosition.objects.filter(account__name=f"deployment-{deployment.pk}").exists()
    assert bankroll_cash(deployment) == FUNDING - deployment.capital + broker_cash(deployment)
