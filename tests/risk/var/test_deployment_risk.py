"""A deployment's VaR and its place in the governor's proposals. Its live cohort here is a cohort run on bundled
bars, tied to the deployment's rows directly (the deployment's own run is tested with the promotions)."""
from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import numpy as np
import pytest
from django.utils import timezone

from cohorts.selectors.cohorts import cohort_curves
from promotions.models import (
    Deployment,
    DeploymentRun,
    DeploymentStatus,
    PromotionCandidate,
    PromotionRequest,
    RequestStatus,
)
from risk.engine import historical_var
from risk.selectors.var import var_report
from tests.risk.var.test_var_api import client_of


def running_deployment(cohort) -> Deployment:
    agent = cohort.agents.get(index=0)
    candidate = PromotionCandidate.objects.create(cohort=cohort, agent=agent, rank=1, score=1.0, family=agent.family,
                                                  params=agent.params, allocation=Decimal(5000), is_eligible=True)
    now = timezone.now()
    request = PromotionRequest.objects.create(candidate=candidate, status=RequestStatus.APPROVED, payload={},
                                              payload_digest="0" * 64, roles=["ops", "risk"],
                                              expires_at=now + timedelta(days=1))
    deployment = Deployment.objects.create(
        request=request, status=DeploymentStatus.RUNNING, bankroll=cohort.source, family=agent.family,
        params=agent.params, symbols=cohort.symbols, capital=Decimal(5000), max_drawdown=0.05,
        max_return_variance=0.01, started_at=now, ends_at=now + timedelta(hours=1))
    DeploymentRun.objects.create(deployment=deployment, cohort=cohort)
    return deployment


@pytest.mark.django_db
def test_a_deployments_var_is_its_cohorts_and_the_governor_weighs_it_while_it_runs(completed, viewer, outsider):
    deployment = running_deployment(completed)
    parent = cohort_curves(completed)["parent"]

    report = var_report(deployment, horizon=5, paths=5000)
    assert report["subject"]["label"] == f"Deployment {deployment.pk}" and report["observations"] == parent.size
    returns = np.diff(parent, prepend=5000.0) / np.concatenate(([5000.0], parent[:-1]))
    expected = historical_var(returns, level=0.95, horizon=5, portfolio_value=Decimal(report["value"]))
    assert report["historical"]["95"]["var"] == str(expected.var_amount)
    assert set(report["monte_carlo"]) == {"95", "99"}

    weighed = client_of(viewer).get("/api/governor/allocations").json()["deployments"]
    [item] = weighed["items"]
    assert item["deployment"] == deployment.pk and item["current"] == "5000.00" and item["reason"]
    assert Decimal(item["proposed"]) + Decimal(weighed["cash"]) == Decimal(weighed["total"]) == Decimal("5000.00")
    if item["roi"] is not None and item["roi"] > 0:
        assert Decimal(item["proposed"]) == Decimal("1250.00")  # alone, it still gets no more than one group's cap
    assert client_of(outsider).get("/api/governor/allocations").json()["deployments"]["items"] == []
    assert client_of(outsider).get(f"/api/risk/var?deployment={deployment.pk}").status_code == 404
