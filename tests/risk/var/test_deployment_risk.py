"""A deployment's VaR and its place in the governor's proposals, from a deployment run on two bundled hours."""
from __future__ import annotations

from decimal import Decimal

import numpy as np
import pytest

from cohorts.selectors.cohorts import cohort_curves
from promotions.models import Deployment, DeploymentStatus
from promotions.services.deployments import deployment_start
from risk.engine import historical_var
from risk.selectors.var import var_report
from tests.cohorts.conftest import crypto_hours  # noqa: F401  (fixture)
from tests.promotions.deployments.conftest import approved, at_start, desk  # noqa: F401  (fixtures)
from tests.risk.var.test_var_api import client_of

pytestmark = pytest.mark.usefixtures("crypto_hours", "at_start", "eager")


def test_a_deployments_var_is_its_live_cohorts_and_the_governor_weighs_it_while_it_runs(
        approved, django_capture_on_commit_callbacks, viewer, outsider):  # noqa: F811
    with django_capture_on_commit_callbacks(execute=True):
        deployment = deployment_start(request_id=approved(capital="500", hours=1).pk, clock="replay")
    deployment.refresh_from_db()
    parent = cohort_curves(deployment.run.cohort)["parent"]

    report = var_report(deployment, horizon=5, paths=5000)
    assert report["subject"]["label"] == f"Deployment {deployment.pk}" and report["observations"] == parent.size
    returns = np.diff(parent, prepend=500.0) / np.concatenate(([500.0], parent[:-1]))
    expected = historical_var(returns, level=0.95, horizon=5, portfolio_value=Decimal(report["value"]))
    assert report["historical"]["95"]["var"] == str(expected.var_amount)
    assert set(report["monte_carlo"]) == {"95", "99"}

    Deployment.objects.filter(pk=deployment.pk).update(status=DeploymentStatus.RUNNING)  # as if its timer had not run out
    weighed = client_of(viewer).get("/api/governor/allocations").json()["deployments"]
    [item] = weighed["items"]
    assert item["deployment"] == deployment.pk and item["current"] == "500.00" and item["reason"]
    assert Decimal(item["proposed"]) + Decimal(weighed["cash"]) == Decimal(weighed["total"]) == Decimal("500.00")
    assert client_of(outsider).get("/api/governor/allocations").json()["deployments"]["items"] == []
    assert client_of(outsider).get(f"/api/risk/var?deployment={deployment.pk}").status_code == 403
