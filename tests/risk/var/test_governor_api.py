"""`GET /api/governor/allocations`: proposals that add up to the cent, with reasons, for whom they may see."""
from __future__ import annotations

from decimal import Decimal

import pytest

from tests.factories import UserFactory
from tests.risk.var.test_var_api import client_of


def cents(text: str) -> Decimal:
    return Decimal(text)


@pytest.mark.django_db
def test_owner_gets_proposals_for_their_latest_cohort_adding_up_exactly(completed, owner, settings):
    settings.RISK_GOVERNOR_GROUP_CAP = 0.2
    body = client_of(owner).get("/api/governor/allocations").json()

    cohort = body["cohort"]
    assert cohort["id"] == completed.pk and cohort["total"] == "5000.00"
    agents = cohort["agents"]
    assert len(agents) == 10
    assert sum(cents(a["proposed"]) for a in agents) + cents(cohort["cash"]) == Decimal("5000.00")
    assert sum(cents(a["current"]) for a in agents) <= Decimal("5000.00")
    for agent in agents:
        assert agent["reason"]
        if agent["sharpe"] is None or agent["sharpe"] <= 0 or agent["roi"] is None or agent["roi"] <= 0:
            assert cents(agent["proposed"]) == 0
        assert cents(agent["proposed"]) <= Decimal("1000.00") + Decimal("0.01")  # 20% cap of 5,000
    funded = [a for a in agents if cents(a["proposed"]) > 0]
    assert funded and all("Sharpe ÷ volatility" in a["reason"] for a in funded)
    assert body["deployments"]["items"] == [] and "No deployment is running" in body["deployments"]["explanation"]


@pytest.mark.django_db
def test_staff_may_name_any_cohort_an_outsider_none(completed, outsider, anonymous_api):
    staff = UserFactory(username="staff", superuser=True)
    assert client_of(staff).get(f"/api/governor/allocations?cohort={completed.pk}").json()["cohort"]["id"] == completed.pk

    outside = client_of(outsider)
    assert outside.get("/api/governor/allocations").json()["cohort"] is None  # nothing of theirs to weigh
    refused = outside.get(f"/api/governor/allocations?cohort={completed.pk}")
    assert refused.status_code == 404 and "cohort" in refused.json()["errors"]  # as the cohorts API
    assert outside.get("/api/governor/allocations?cohort=999999").status_code == 404
    assert outside.get("/api/governor/allocations?cohort=abc").status_code == 400
    assert anonymous_api.get("/api/governor/allocations").status_code == 401


@pytest.mark.django_db
def test_a_cohort_still_running_is_not_weighed(api, maker):
    from tests.factories import CohortFactory

    running = CohortFactory(launched_by=maker, status="running")
    response = api.get(f"/api/governor/allocations?cohort={running.pk}")
    assert response.status_code == 400 and "completed" in response.json()["detail"]
