"""`GET /api/risk/var`: figures of a stored cohort, who may ask, bad parameters named, and the empty state."""
from __future__ import annotations

from decimal import Decimal

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from tests.factories import CohortFactory


def client_of(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=user)[0].key}")
    return client


@pytest.mark.django_db
def test_owner_reads_var_and_stresses_of_their_cohort_by_token(completed, owner, settings):
    settings.RISK_VAR_PATHS = 10_000
    response = client_of(owner).get(f"/api/risk/var?cohort={completed.pk}&horizon=10&paths=5000")

    assert response.status_code == 200
    body = response.json()
    assert body["subject"] == {"kind": "cohort", "id": completed.pk, "label": f"Cohort {completed.pk}"}
    assert body["horizon"] == 10 and body["paths"] == 5000 and body["observations"] == 180
    for method in ("historical", "monte_carlo"):
        for level in ("95", "99"):
            figure = body[method][level]
            assert Decimal(figure["cvar"]) >= Decimal(figure["var"]) > 0
            assert Decimal(figure["var"]) == (Decimal(body["value"]) * Decimal(repr(figure["var_fraction"]))).quantize(
                Decimal("0.01"))
    crash = next(s for s in body["stress"] if s["name"].startswith("replay of the 2021-05-19 crash"))
    assert crash["shocks"]["BTC-USDT"] < -0.2 and Decimal(crash["loss"]) > 0  # a long book loses in the crash
    names = [s["name"] for s in body["stress"]]
    assert "gap down 20%" in names and any(n.startswith("correlation to one") for n in names)


@pytest.mark.django_db
def test_the_same_seed_gives_the_same_monte_carlo_and_another_seed_another(completed, viewer, settings):
    api = client_of(viewer)
    first = api.get(f"/api/risk/var?cohort={completed.pk}&paths=5000").json()["monte_carlo"]
    from django.core.cache import cache

    cache.clear()
    assert api.get(f"/api/risk/var?cohort={completed.pk}&paths=5000").json()["monte_carlo"] == first
    settings.RISK_VAR_SEED = 8
    assert api.get(f"/api/risk/var?cohort={completed.pk}&paths=5000").json()["monte_carlo"] != first


@pytest.mark.django_db
def test_outsider_anonymous_and_unknown_subjects_are_refused(completed, outsider, anonymous_api):
    assert anonymous_api.get(f"/api/risk/var?cohort={completed.pk}").status_code == 401
    outside = client_of(outsider)
    hidden = outside.get(f"/api/risk/var?cohort={completed.pk}")  # as the cohorts API: not theirs, not there
    assert hidden.status_code == 404 and "cohort" in hidden.json()["errors"]
    assert outside.get(f"/api/risk/var?bankroll={completed.source_id}").status_code == 403
    assert outside.get("/api/risk/var?cohort=999999").status_code == 404


@pytest.mark.django_db
@pytest.mark.parametrize(("query", "field"), [
    ("", "subject"), ("cohort=1&bankroll=1", "subject"), ("cohort=x", "cohort"), ("cohort=1&horizon=0", "horizon"),
    ("cohort=1&horizon=100000", "horizon"), ("cohort=1&paths=10", "paths"), ("cohort=1&paths=99999999", "paths"),
])
def test_bad_parameters_answer_400_naming_the_field(api, query, field):
    response = api.get(f"/api/risk/var?{query}")
    assert response.status_code == 400
    assert field in response.json()["errors"]


@pytest.mark.django_db
def test_a_cohort_without_curves_answers_200_with_an_explanation(api, maker):
    pending = CohortFactory(launched_by=maker)
    body = api.get(f"/api/risk/var?cohort={pending.pk}").json()
    assert body["historical"] == {} and body["monte_carlo"] == {} and body["stress"] == []
    assert "no equity curve yet" in body["explanation"] and body["observations"] == 0
