"""The cohort list's filters: one FilterSet for the page, the API and the CSV, refusing bad values alike."""
import re
from html import unescape

import pytest
from django.urls import reverse
from drf_spectacular.generators import SchemaGenerator

URL = "/api/experiments/cohorts"
BAD = {"date": "2021-02-30", "bankroll": "ten", "status": "sleeping"}


@pytest.mark.django_db
@pytest.mark.parametrize("url", [URL, f"{URL}.csv"])
def test_api_refuses_every_bad_filter_at_once(api, url):
    response = api.get(url, BAD)
    assert response.status_code == 400
    body = response.json()
    assert set(body["errors"]) == set(BAD) and all(body["errors"][name] for name in BAD)
    assert "status" in body["detail"]


@pytest.mark.django_db
def test_list_page_shows_the_apis_words_for_bad_filters(client, maker, api):
    client.force_login(maker)
    response = client.get(reverse("cohort-list"), BAD)
    assert response.status_code == 200
    page = unescape(response.content.decode())
    for name, messages in api.get(URL, BAD).json()["errors"].items():
        assert f"{name}: {' '.join(messages)}" in page


@pytest.mark.django_db
def test_empty_filters_filter_nothing(api):
    assert api.get(URL, {"date": "", "bankroll": "", "status": ""}).status_code == 200


def test_schema_documents_the_filters_of_the_list_and_its_csv():
    schema = SchemaGenerator().get_schema(request=None, public=True)
    for path in (URL, f"{URL}.csv"):
        parameters = {p["name"]: p for p in schema["paths"][path]["get"]["parameters"]}
        assert {"date", "bankroll", "status"} <= set(parameters), path
        assert parameters["status"]["schema"]["enum"] == ["completed", "failed", "pending", "running"]
        assert parameters["date"]["schema"]["format"] == "date"
        assert parameters["bankroll"]["schema"]["type"] == "string"  # an amount, written as the API writes amounts
        assert parameters["bankroll"]["schema"]["format"] == "decimal"


@pytest.fixture
def three(maker):
    """Three cohorts of `maker`'s: $1,000 completed on 6 May, $500 failed on 6 May, $1,000 completed on 7 May."""
    from datetime import UTC, datetime

    from tests.factories import CohortFactory

    may = [datetime(2021, 5, day, tzinfo=UTC) for day in (6, 7)]
    return [CohortFactory(launched_by=maker, status="completed", window_start=may[0]),
            CohortFactory(launched_by=maker, status="failed", window_start=may[0], wallet__bankroll=500),
            CohortFactory(launched_by=maker, status="completed", window_start=may[1])]


@pytest.mark.django_db
@pytest.mark.parametrize("filters,expected", [
    ({}, [2, 1, 0]), ({"status": "completed"}, [2, 0]), ({"bankroll": "500.00"}, [1]),
    ({"date": "2021-05-06", "status": "completed"}, [0]), ({"date": "2021-05-08"}, []),
])
def test_page_api_and_csv_list_the_same_cohorts(api, client, maker, three, filters, expected):
    client.force_login(maker)
    ids = [three[i].pk for i in expected]
    assert [c["id"] for c in api.get(URL, filters).json()["results"]] == ids
    assert [int(line.split(",")[0]) for line in api.get(f"{URL}.csv", filters).content.decode().splitlines()[1:]] == ids
    page = client.get(reverse("cohort-list"), filters).content.decode()
    assert [int(i) for i in re.findall(r'id="cohort-status-(\d+)"', page)] == ids


@pytest.mark.django_db
def test_a_bad_filter_on_the_page_is_explained_and_the_good_ones_still_apply(client, maker, three):
    client.force_login(maker)
    page = unescape(client.get(reverse("cohort-list"), {"status": "failed", "bankroll": "ten"}).content.decode())
    assert "bankroll: Enter a number." in page
    assert [int(i) for i in re.findall(r'id="cohort-status-(\d+)"', page)] == [three[1].pk]
