"""Oversized request bodies: the API answers with a JSON 413 naming the limit, never a bare HTML page."""
import json

import pytest
from django.contrib.auth.models import Permission

pytestmark = pytest.mark.django_db


@pytest.fixture
def launcher(maker, api):
    maker.user_permissions.add(Permission.objects.get(codename="add_cohort"))
    return api


def test_three_megabyte_field_gets_a_json_413_naming_the_limit(launcher, settings):
    body = json.dumps({"bankroll": "1000", "symbols": ["BTC-USDT"], "compliance_notes": "a" * 3_000_000})

    response = launcher.post("/api/experiments/cohorts", body, content_type="application/json")

    assert response.status_code == 413 and response["Content-Type"] == "application/json"
    limit_mb = settings.DATA_UPLOAD_MAX_MEMORY_SIZE / 1_048_576
    assert response.json()["detail"] == f"The request body is larger than the {limit_mb:.1f} MB allowed."
    assert response.json()["errors"] == {"non_field_errors": [response.json()["detail"]]}


def test_body_just_under_the_limit_is_read(launcher, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    body = json.dumps({"bankroll": "1000", "symbols": ["BTC-USDT"], "compliance_notes": "a" * 9_000})

    response = launcher.post("/api/experiments/cohorts", body, content_type="application/json")

    assert response.status_code == 400 and "start" in response.json()["errors"]  # parsed, then refused for its fields
