"""The cohort list's filters: one FilterSet for the page, the API and the CSV, refusing bad values alike."""
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
