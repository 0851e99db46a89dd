"""A deployment's worker process killed with SIGKILL after a bar: the minute's housekeeping resumes the run once
its lease lapses, and the deployment ends with every fill sent to the broker exactly once."""
from __future__ import annotations

import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import connection  # noqa: F401 (the skip condition reads it)
from django.utils import timezone

from cohorts.models import Cohort
from cohorts.services.clocks import ReplayClock
from promotions.models import Deployment, DeploymentStatus, PaperOrder
from promotions.services.deploy_reconcile import deployments_reconcile_all
from promotions.services.deploy_run import deployment_run
from promotions.services.deployments import deployment_start
from tests.live.test_live_resume import worker_env
from tests.promotions.deployments.conftest import FUNDING, START
from tests.promotions.deployments.helpers import bankroll_cash, broker_cash, fill_orders, ledger_fills

WORKER = Path(__file__).with_name("deploy_worker.py")

pytestmark = [
    pytest.mark.skipif("connection.vendor != 'postgresql'", reason="a second process needs PostgreSQL"),
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("crypto_hours", "at_start"),
]


def test_a_worker_killed_with_sigkill_resumes_and_sends_each_fill_once(approved, queued, tmp_path):
    deployment = deployment_start(request_id=approved(capital="500", hours=1).pk, clock="replay")
    with (tmp_path / "worker.log").open("w") as log:
        worker = subprocess.run([sys.executable, str(WORKER), str(deployment.pk), "40"], env=worker_env(tmp_path),
                                stdout=subprocess.PIPE, stderr=log, text=True, timeout=120)
    assert worker.returncode == -9, (tmp_path / "worker.log").read_text()[-2000:]
    deployment = Deployment.objects.get(pk=deployment.pk)
    assert deployment.status == DeploymentStatus.RUNNING and deployment.run.bar_at == START + timedelta(minutes=41)
    before = fill_orders(deployment)
    assert before == ledger_fills(deployment)  # the bar's orders committed with its fills

    Cohort.objects.filter(pk=deployment.run.cohort_id).update(lease_expires_at=timezone.now() - timedelta(seconds=1))
    assert deployments_reconcile_all()["resumed"] == [deployment.pk]
    deployment_run(deployment_id=deployment.pk, clock=ReplayClock(0))  # what the queued task does

    deployment.refresh_from_db()
    assert deployment.status == DeploymentStatus.COMPLETED, deployment.status_reason
    orders = fill_orders(deployment)
    assert orders[:len(before)] == before and orders == ledger_fills(deployment)[:len(orders)]
    clients = list(PaperOrder.objects.filter(account__name=f"deployment-{deployment.pk}",
                                             client_order_id__contains="-fill").values_list("client_order_id", flat=True))
    assert len(clients) == len(set(clients)) == len(orders)
    assert bankroll_cash(deployment) == FUNDING - deployment.capital + broker_cash(deployment)
