"""API throttling on the shared cache: bursts get a JSON 429; cohort launches have a stricter budget."""
import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db


@pytest.fixture
def rates(settings):
    """Sets throttle rates for one test (the rest of the suite keeps the defaults)."""
    def set_rates(**scopes):
        current = settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]
        settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {**current, **scopes}}
    return set_rates


def test_default_rate_stops_a_300_request_burst(api):
    statuses = [api.get(reverse("api-market-instruments")).status_code for _ in range(300)]

    assert statuses[0] == 200 and statuses[-1] == 429


def test_burst_over_the_user_rate_gets_a_json_429_saying_when_to_retry(api, rates):
    rates(user="5/min")
    assert [api.get(reverse("api-market-instruments")).status_code for _ in range(5)] == [200] * 5

    refused = api.get(reverse("api-market-instruments"))

    assert refused.status_code == 429 and refused["Content-Type"] == "application/json"
    assert "throttled" in refused.json()["detail"] and int(refused["Retry-After"]) > 0


def test_throttle_counts_each_user_apart(api, outsider, rates):
    rates(user="2/min")
    for _ in range(3):
        api.get(reverse("api-market-instruments"))
    other = APIClient()
    other.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=outsider).key}")

    assert other.get(reverse("api-market-instruments")).status_code == 200


def test_cohort_launches_have_their_own_stricter_budget(api, maker, rates):
    maker.user_permissions.add(Permission.objects.get(codename="add_cohort"))
    rates(launch="3/min")
    launches = [api.post(reverse("api-cohorts"), {}, format="json").status_code for _ in range(4)]

    assert launches == [400, 400, 400, 429]  # refused inputs count too: each costs a validation
    assert api.get(reverse("api-cohorts")).status_code == 200  # reading the list is not a launch
